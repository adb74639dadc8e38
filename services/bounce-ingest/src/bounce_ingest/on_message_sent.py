"""``message.sent``: remember the message, then match the bounces and complaints that were waiting for it."""

from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bounce_ingest.correlation import find_match, keys_of_bounce, keys_of_complaint
from bounce_ingest.domain import CLOCK_SKEW, RECIPIENT_WINDOW, normalize_message_id, normalize_recipient
from bounce_ingest.models import (
    BOUNCE_PENDING,
    BOUNCE_UNMATCHED,
    IngestBounce,
    IngestComplaint,
    IngestSentMessage,
)
from bounce_ingest.publishing import publish_bounced, publish_complained
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageSent

WAITING = (BOUNCE_PENDING, BOUNCE_UNMATCHED)
"""Unmatched bounces too: a message that shows up late still gets its ``message.bounced``."""


async def on_message_sent(session: AsyncSession, event: CloudEvent) -> None:
    sent = event.data_as(MessageSent)
    row = await session.get(IngestSentMessage, sent.message_id)
    if row is None:
        row = IngestSentMessage(
            message_id=sent.message_id,
            workspace_id=event.workspaceid,
            thread_id=sent.thread_id,
            contact_id=sent.contact_id,
            run_id=sent.run_id,
            run_step=sent.run_step,
            recipient=normalize_recipient(sent.recipient),
            sender_mailbox=sent.sender_mailbox,
            provider=sent.provider,
            provider_message_id=normalize_message_id(sent.provider_message_id),
            smtp_message_id=normalize_message_id(sent.smtp_message_id),
            sent_at=sent.sent_at,
        )
        session.add(row)
        await session.flush()
    await _match_waiting_bounces(session, row)
    await _match_waiting_complaints(session, row)


def _may_belong(model: Any, occurred_at: Any, row: IngestSentMessage) -> ColumnElement[bool]:
    """Waiting rows sharing a key with the message; correlation then decides which really match.

    By recipient, only rows the message could explain: those within the recipient window of its send.
    """
    conditions = [
        and_(
            col(model.recipient) == row.recipient,
            col(occurred_at) >= row.sent_at - CLOCK_SKEW,
            col(occurred_at) <= row.sent_at + RECIPIENT_WINDOW,
        ),
        col(model.seevee_message_id) == row.message_id,
    ]
    if row.provider_message_id:
        conditions.append(col(model.provider_message_id) == row.provider_message_id)
        conditions.append(
            col(model.provider_message_id).startswith(row.provider_message_id + ".filter", autoescape=True)
        )
    if row.smtp_message_id:
        conditions.append(col(model.smtp_message_id) == row.smtp_message_id)
    return or_(*conditions)


async def _match_waiting_bounces(session: AsyncSession, row: IngestSentMessage) -> None:
    statement = (
        select(IngestBounce)
        .where(col(IngestBounce.status).in_(WAITING), _may_belong(IngestBounce, IngestBounce.bounced_at, row))
        .with_for_update()
    )
    for bounce in (await session.exec(statement)).all():
        match = await find_match(session, keys_of_bounce(bounce))
        if match is not None:
            publish_bounced(session, bounce, match)


async def _match_waiting_complaints(session: AsyncSession, row: IngestSentMessage) -> None:
    statement = (
        select(IngestComplaint)
        .where(
            col(IngestComplaint.status).in_(WAITING),
            _may_belong(IngestComplaint, IngestComplaint.complained_at, row),
        )
        .with_for_update()
    )
    for complaint in (await session.exec(statement)).all():
        match = await find_match(session, keys_of_complaint(complaint))
        if match is not None:
            publish_complained(session, complaint, match)
