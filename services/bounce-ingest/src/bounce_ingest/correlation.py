"""Looks up each correlation key of a bounce in the sent-message table, then applies the pure chain."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bounce_ingest.domain import (
    CorrelationKeys,
    Lookups,
    Match,
    SentMessageRef,
    correlate,
    normalize_message_id,
    normalize_recipient,
    provider_message_id_candidates,
    recipient_window,
)
from bounce_ingest.models import IngestBounce, IngestComplaint, IngestSentMessage


def message_ref(row: IngestSentMessage) -> SentMessageRef:
    return SentMessageRef(
        message_id=row.message_id,
        workspace_id=row.workspace_id,
        thread_id=row.thread_id,
        contact_id=row.contact_id,
        recipient=row.recipient,
        run_id=row.run_id,
        run_step=row.run_step,
    )


async def _by_message_id(session: AsyncSession, message_id: str | None) -> SentMessageRef | None:
    if not message_id:
        return None
    row = await session.get(IngestSentMessage, message_id.strip())
    return message_ref(row) if row is not None else None


async def _by_provider_message_id(session: AsyncSession, value: str | None) -> SentMessageRef | None:
    for candidate in provider_message_id_candidates(value):
        statement = (
            select(IngestSentMessage)
            .where(IngestSentMessage.provider_message_id == candidate)
            .order_by(col(IngestSentMessage.sent_at).desc())
            .limit(1)
        )
        row = (await session.exec(statement)).first()
        if row is not None:
            return message_ref(row)
    return None


async def _by_smtp_message_id(session: AsyncSession, value: str | None) -> SentMessageRef | None:
    normalized = normalize_message_id(value)
    if normalized is None:
        return None
    statement = (
        select(IngestSentMessage)
        .where(IngestSentMessage.smtp_message_id == normalized)
        .order_by(col(IngestSentMessage.sent_at).desc())
        .limit(1)
    )
    row = (await session.exec(statement)).first()
    return message_ref(row) if row is not None else None


async def _to_recipient(session: AsyncSession, keys: CorrelationKeys) -> list[SentMessageRef]:
    """At most two messages: enough to tell a lone message from an ambiguous recipient."""
    start, end = recipient_window(keys.occurred_at)
    statement = (
        select(IngestSentMessage)
        .where(
            IngestSentMessage.recipient == normalize_recipient(keys.recipient),
            col(IngestSentMessage.sent_at) >= start,
            col(IngestSentMessage.sent_at) <= end,
        )
        .limit(2)
    )
    return [message_ref(row) for row in (await session.exec(statement)).all()]


async def find_match(session: AsyncSession, keys: CorrelationKeys) -> Match | None:
    """The sent message a bounce belongs to: every key is looked up, the pure chain picks the first."""
    found = Lookups(
        by_message_id=await _by_message_id(session, keys.seevee_message_id),
        by_provider_message_id=await _by_provider_message_id(session, keys.provider_message_id),
        by_smtp_message_id=await _by_smtp_message_id(session, keys.smtp_message_id),
        to_recipient=await _to_recipient(session, keys),
    )
    return correlate(found, keys.workspace_scope)


def keys_of_bounce(row: IngestBounce) -> CorrelationKeys:
    return CorrelationKeys(
        recipient=row.recipient,
        occurred_at=row.bounced_at,
        seevee_message_id=row.seevee_message_id,
        provider_message_id=row.provider_message_id,
        smtp_message_id=row.smtp_message_id,
        workspace_scope=row.workspace_scope,
    )


def keys_of_complaint(row: IngestComplaint) -> CorrelationKeys:
    return CorrelationKeys(
        recipient=row.recipient,
        occurred_at=row.complained_at,
        seevee_message_id=row.seevee_message_id,
        provider_message_id=row.provider_message_id,
        smtp_message_id=row.smtp_message_id,
        workspace_scope=row.workspace_scope,
    )
