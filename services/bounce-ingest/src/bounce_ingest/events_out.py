"""What bounce-ingest publishes: its ``SOURCE`` and one builder per outgoing event (pure).

Each bounce event is its ``BounceFacts`` plus what the match adds; the payload models keep the fields
they name, so the facts are spelled out once, in ``domain.BounceFacts``.
"""

import uuid
from typing import Any

from bounce_ingest.domain import BounceFacts, Match
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import BounceUnmatched, MessageBounced, MessageComplained
from seevee_shared.ids import name_id
from seevee_shared.logging import get_logger

log = get_logger(__name__)

SOURCE = "/seevee/bounce-ingest"
UNRESOLVED_WORKSPACE = "unresolved"
"""A ``bounce.unmatched`` from a webhook belongs to no known workspace; the envelope still needs one."""


def _message_fields(match: Match) -> dict[str, Any]:
    message = match.message
    return {
        "message_id": message.message_id,
        "thread_id": message.thread_id,
        "contact_id": message.contact_id,
        "run_id": message.run_id,
        "run_step": message.run_step,
        "matched_by": match.matched_by,
    }


def bounced(facts: BounceFacts, match: Match) -> CloudEvent:
    """``message.bounced`` for a matched bounce, keyed by the contact; its event id is the bounce id."""
    message = match.message
    event = CloudEvent.build(
        MessageBounced.model_validate(facts.values() | _message_fields(match)),
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


def unmatched(facts: BounceFacts, workspace_scope: str | None) -> CloudEvent:
    """``bounce.unmatched``, keyed by the bounce id (there is no contact to key by)."""
    event = CloudEvent.build(
        BounceUnmatched.model_validate(facts.values()),
        source=SOURCE,
        workspace_id=workspace_scope or UNRESOLVED_WORKSPACE,
        subject=facts.bounce_id,
        event_id=name_id(uuid.UUID(facts.bounce_id), "bounce.unmatched"),
    )
    log.debug("bounce unmatched", event_id=event.id, bounce_id=facts.bounce_id, recipient=facts.recipient)
    return event


def complained(complaint: Any, match: Match) -> CloudEvent:
    """``message.complained`` for a matched complaint row; its event id is the complaint id."""
    message = match.message
    event = CloudEvent.build(
        MessageComplained(
            message_id=message.message_id,
            thread_id=message.thread_id,
            contact_id=message.contact_id,
            run_id=message.run_id,
            recipient=complaint.recipient,
            provider=complaint.provider,
            feedback_type=complaint.feedback_type,
            complained_at=complaint.complained_at,
        ),
        source=SOURCE,
        workspace_id=message.workspace_id,
        subject=message.contact_id,
        event_id=complaint.complaint_id,
    )
    log.debug(
        "complaint matched", event_id=event.id, contact_id=message.contact_id, matched_by=match.matched_by
    )
    return event
