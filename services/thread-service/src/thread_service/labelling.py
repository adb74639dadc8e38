"""Putting a bounce or a complaint on a stored message, and announcing each label the first time."""

import uuid
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus import outbox_add
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageBounced, MessageComplained, ThreadMessageLabeled
from thread_service import store
from thread_service.domain import BOUNCED, COMPLAINED, BounceDetail, prevailing_bounce
from thread_service.models import ThreadMessage

SOURCE = "/seevee/thread-service"
_LABEL_EVENT_NAMESPACE = uuid.UUID("3c1e9a52-8f0d-5b7a-a4c6-0d2f7e9b1a63")


def bounce_detail(bounced: MessageBounced) -> BounceDetail:
    return BounceDetail(
        bounce_id=bounced.bounce_id,
        category=bounced.category,
        reason=bounced.reason,
        permanent=bounced.permanent,
        bounced_at=bounced.bounced_at,
        diagnostic=bounced.diagnostic,
        smtp_status=bounced.smtp_status,
    )


async def apply_bounces(
    session: AsyncSession, message: ThreadMessage, bounces: Sequence[MessageBounced]
) -> None:
    """Show the prevailing bounce on the message and label it ``bounced`` (announced once)."""
    shown = store.shown_bounce(message)
    chosen = shown
    for bounced in bounces:
        chosen = prevailing_bounce(chosen, bounce_detail(bounced))
    if chosen is None:
        return
    if chosen != shown:
        store.show_bounce(message, chosen)
        session.add(message)
    await _label(session, message, BOUNCED, category=chosen.category, reason=chosen.reason)


async def apply_complaint(
    session: AsyncSession, message: ThreadMessage, complained: MessageComplained
) -> None:
    """Label the message ``complained`` (announced once); the feedback type, if any, is the reason."""
    await _label(session, message, COMPLAINED, category=None, reason=complained.feedback_type)


async def _label(
    session: AsyncSession, message: ThreadMessage, label: str, *, category: str | None, reason: str | None
) -> None:
    if not await store.add_label(session, message, label):
        return
    labeled = ThreadMessageLabeled.model_validate(
        {
            "thread_id": message.thread_id,
            "message_id": message.message_id,
            "label": label,
            "category": category,
            "reason": reason,
        }
    )
    event = CloudEvent.build(
        labeled,
        source=SOURCE,
        workspace_id=message.workspace_id,
        subject=message.contact_id,
        event_id=str(
            uuid.uuid5(_LABEL_EVENT_NAMESPACE, f"{message.workspace_id}\x1f{message.message_id}\x1f{label}")
        ),
    )
    outbox_add(session, event)
