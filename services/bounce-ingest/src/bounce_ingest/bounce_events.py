"""The payloads bounce-ingest publishes, built from a bounce's stored facts and its match (pure)."""

from dataclasses import dataclass
from datetime import datetime

from bounce_ingest.classification import classify
from bounce_ingest.domain import (
    Match,
    SentMessageRef,
    as_utc,
    normalize_message_id,
    normalize_recipient,
    record_id,
)
from bounce_ingest.records import ProviderRecord
from seevee_shared.events import BounceUnmatched, Category, MessageBounced, MessageComplained


@dataclass(frozen=True, slots=True)
class BounceFacts:
    """The stored facts of one bounce, whatever its match state."""

    bounce_id: str
    recipient: str
    category: Category
    reason: str
    permanent: bool
    provider: str
    provider_event_id: str
    bounced_at: datetime
    smtp_code: int | None = None
    smtp_status: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    provider_message_id: str | None = None
    smtp_message_id: str | None = None


def facts_from_record(record: ProviderRecord, workspace_scope: str | None = None) -> BounceFacts:
    """A record's bounce facts; a record the provider left unclassified is classified from its SMTP data."""
    category, reason, permanent = record.category, record.reason, record.permanent
    if category is None or reason is None:
        verdict = classify(record.smtp_status, record.smtp_code, record.diagnostic, hint=record.reason)
        category, reason, permanent = verdict.category, verdict.reason, verdict.permanent
    return BounceFacts(
        bounce_id=record_id(record, workspace_scope),
        recipient=normalize_recipient(record.recipient),
        category=category,
        reason=reason,
        permanent=permanent,
        provider=record.provider,
        provider_event_id=record.provider_event_id,
        bounced_at=as_utc(record.occurred_at),
        smtp_code=record.smtp_code,
        smtp_status=record.smtp_status,
        diagnostic=record.diagnostic,
        remote_mta=record.remote_mta,
        provider_message_id=normalize_message_id(record.provider_message_id),
        smtp_message_id=normalize_message_id(record.smtp_message_id),
    )


def bounced_event(facts: BounceFacts, match: Match) -> MessageBounced:
    message = match.message
    return MessageBounced(
        bounce_id=facts.bounce_id,
        message_id=message.message_id,
        thread_id=message.thread_id,
        contact_id=message.contact_id,
        run_id=message.run_id,
        run_step=message.run_step,
        recipient=facts.recipient,
        category=facts.category,
        reason=facts.reason,
        permanent=facts.permanent,
        smtp_code=facts.smtp_code,
        smtp_status=facts.smtp_status,
        diagnostic=facts.diagnostic,
        remote_mta=facts.remote_mta,
        provider=facts.provider,
        provider_event_id=facts.provider_event_id,
        matched_by=match.matched_by,
        bounced_at=facts.bounced_at,
    )


def unmatched_event(facts: BounceFacts) -> BounceUnmatched:
    return BounceUnmatched(
        bounce_id=facts.bounce_id,
        recipient=facts.recipient,
        category=facts.category,
        reason=facts.reason,
        permanent=facts.permanent,
        smtp_code=facts.smtp_code,
        smtp_status=facts.smtp_status,
        diagnostic=facts.diagnostic,
        remote_mta=facts.remote_mta,
        provider=facts.provider,
        provider_event_id=facts.provider_event_id,
        bounced_at=facts.bounced_at,
        smtp_message_id=facts.smtp_message_id,
        provider_message_id=facts.provider_message_id,
    )


def complained_event(
    message: SentMessageRef, *, recipient: str, provider: str, feedback_type: str | None, at: datetime
) -> MessageComplained:
    return MessageComplained(
        message_id=message.message_id,
        thread_id=message.thread_id,
        contact_id=message.contact_id,
        run_id=message.run_id,
        recipient=recipient,
        provider=provider,
        feedback_type=feedback_type,
        complained_at=at,
    )
