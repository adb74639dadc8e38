"""What a stored bounce or complaint becomes on the bus: an outbox row in the caller's transaction."""

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bounce_ingest.bounce_events import BounceFacts, bounced_event, complained_event, unmatched_event
from bounce_ingest.domain import Bounce, Complaint, Match, as_category
from bounce_ingest.models import (
    BOUNCE_MATCHED,
    BOUNCE_UNMATCHED,
    IngestBounce,
    IngestComplaint,
)
from seevee_shared.bus import outbox_add
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.logging import get_logger

log = get_logger(__name__)

SOURCE = "/seevee/bounce-ingest"
UNRESOLVED_WORKSPACE = "unresolved"
"""A ``bounce.unmatched`` from a webhook belongs to no known workspace; the envelope still needs one."""


def bounce_facts(row: IngestBounce | Bounce) -> BounceFacts:
    return BounceFacts(
        bounce_id=row.bounce_id,
        recipient=row.recipient,
        category=as_category(row.category),
        reason=row.reason,
        permanent=row.permanent,
        provider=row.provider,
        provider_event_id=row.provider_event_id,
        bounced_at=row.bounced_at,
        smtp_code=row.smtp_code,
        smtp_status=row.smtp_status,
        diagnostic=row.diagnostic,
        remote_mta=row.remote_mta,
        provider_message_id=row.provider_message_id,
        smtp_message_id=row.smtp_message_id,
    )


def matched_columns(match: Match) -> dict[str, Any]:
    """What a match writes into a bounce row: its status, the message's ids and how it was found."""
    message = match.message
    return {
        "status": BOUNCE_MATCHED,
        "workspace_id": message.workspace_id,
        "message_id": message.message_id,
        "thread_id": message.thread_id,
        "contact_id": message.contact_id,
        "run_id": message.run_id,
        "run_step": message.run_step,
        "matched_by": match.matched_by,
    }


def bounced_cloud_event(facts: BounceFacts, match: Match) -> CloudEvent:
    """``message.bounced`` for a matched bounce; its event id is the bounce id."""
    message = match.message
    event = CloudEvent.build(
        bounced_event(facts, match),
        source=SOURCE,
        workspace_id=message.workspace_id,
        subject=message.contact_id,
        event_id=facts.bounce_id,
    )
    log.debug(
        "bounce matched",
        event_id=event.id,
        bounce_id=facts.bounce_id,
        contact_id=message.contact_id,
        message_id=message.message_id,
        matched_by=match.matched_by,
    )
    return event


def queue_bounced(session: AsyncSession, facts: BounceFacts, match: Match) -> None:
    """Emit ``message.bounced`` for a matched bounce in the session's transaction."""
    outbox_add(session, bounced_cloud_event(facts, match))


def mark_bounce_matched(row: IngestBounce | Bounce, match: Match) -> None:
    """Write a match into a bounce row: its status, the message's ids and how it was found."""
    for name, value in matched_columns(match).items():
        setattr(row, name, value)


def publish_bounced(session: AsyncSession, row: IngestBounce, match: Match) -> None:
    """Mark a stored bounce matched and emit its ``message.bounced``."""
    mark_bounce_matched(row, match)
    session.add(row)
    queue_bounced(session, bounce_facts(row), match)


def publish_unmatched(session: AsyncSession, row: IngestBounce) -> None:
    """Give up waiting: emit ``bounce.unmatched`` keyed by the bounce id (there is no contact to key by)."""
    row.status = BOUNCE_UNMATCHED
    session.add(row)
    event = CloudEvent.build(
        unmatched_event(bounce_facts(row)),
        source=SOURCE,
        workspace_id=row.workspace_scope or UNRESOLVED_WORKSPACE,
        subject=row.bounce_id,
        event_id=str(uuid.uuid5(uuid.UUID(row.bounce_id), "bounce.unmatched")),
    )
    outbox_add(session, event)
    log.debug("bounce unmatched", event_id=event.id, bounce_id=row.bounce_id, recipient=row.recipient)


def complained_cloud_event(row: IngestComplaint | Complaint, match: Match) -> CloudEvent:
    """Mark the complaint matched; its ``message.complained`` (event id: the complaint id)."""
    message = match.message
    row.status = BOUNCE_MATCHED
    row.workspace_id = message.workspace_id
    row.message_id = message.message_id
    row.thread_id = message.thread_id
    row.contact_id = message.contact_id
    row.run_id = message.run_id
    row.matched_by = match.matched_by
    event = CloudEvent.build(
        complained_event(
            message,
            recipient=row.recipient,
            provider=row.provider,
            feedback_type=row.feedback_type,
            at=row.complained_at,
        ),
        source=SOURCE,
        workspace_id=message.workspace_id,
        subject=message.contact_id,
        event_id=row.complaint_id,
    )
    log.debug(
        "complaint matched", event_id=event.id, contact_id=message.contact_id, matched_by=match.matched_by
    )
    return event


def publish_complained(session: AsyncSession, row: IngestComplaint, match: Match) -> None:
    """Mark the complaint matched and emit ``message.complained`` in the session's transaction."""
    event = complained_cloud_event(row, match)
    session.add(row)
    outbox_add(session, event)
