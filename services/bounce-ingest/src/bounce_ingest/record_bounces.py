"""A webhook delivery or a raw bounce email: dedupe, correlate, store, and publish what matched."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bounce_ingest.bounce_events import facts_from_record
from bounce_ingest.correlation import find_match
from bounce_ingest.domain import (
    as_utc,
    keys_of,
    normalize_message_id,
    normalize_recipient,
    record_id,
    split_duplicates,
)
from bounce_ingest.models import BOUNCE_PENDING, IngestBounce, IngestComplaint
from bounce_ingest.publishing import publish_bounced, publish_complained
from bounce_ingest.records import ParsedRequest, ProviderRecord

_ID_CHUNK = 500


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """The answer to the provider: what was new, what it had sent before, what is not a bounce."""

    accepted: int
    duplicates: int
    ignored: int


async def _stored_ids(session: AsyncSession, ids: Sequence[str]) -> set[str]:
    stored: set[str] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = list(ids[start : start + _ID_CHUNK])
        bounces = await session.exec(
            select(IngestBounce.bounce_id).where(col(IngestBounce.bounce_id).in_(chunk))
        )
        complaints = await session.exec(
            select(IngestComplaint.complaint_id).where(col(IngestComplaint.complaint_id).in_(chunk))
        )
        stored.update(bounces.all())
        stored.update(complaints.all())
    return stored


async def record_delivery(
    session: AsyncSession, parsed: ParsedRequest, now: datetime, workspace_scope: str | None = None
) -> DeliveryCounts:
    """Store each new record once; a match publishes at once, the rest wait for their ``message.sent``.

    ``workspace_scope``: the workspace that reported them (a bounce email), the only one they may touch.
    """
    ids = [record_id(record) for record in parsed.records]
    new, duplicates = split_duplicates(ids, await _stored_ids(session, ids))
    to_store = set(new)
    for record_key, record in zip(ids, parsed.records, strict=True):
        if record_key not in to_store:
            continue
        to_store.discard(record_key)
        if record.kind == "complaint":
            await _record_complaint(session, record_key, record, now, workspace_scope)
        else:
            await _record_bounce(session, record, now, workspace_scope)
    return DeliveryCounts(accepted=len(new), duplicates=len(duplicates), ignored=sum(parsed.ignored.values()))


async def _record_bounce(
    session: AsyncSession, record: ProviderRecord, now: datetime, workspace_scope: str | None
) -> None:
    facts = facts_from_record(record)
    keys = keys_of(record, workspace_scope)
    row = IngestBounce(
        bounce_id=facts.bounce_id,
        status=BOUNCE_PENDING,
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
        received_at=now,
        seevee_message_id=keys.seevee_message_id,
        provider_message_id=facts.provider_message_id,
        smtp_message_id=facts.smtp_message_id,
        workspace_scope=workspace_scope,
    )
    session.add(row)
    match = await find_match(session, keys)
    if match is not None:
        publish_bounced(session, row, match)


async def _record_complaint(
    session: AsyncSession,
    complaint_id: str,
    record: ProviderRecord,
    now: datetime,
    workspace_scope: str | None,
) -> None:
    keys = keys_of(record, workspace_scope)
    row = IngestComplaint(
        complaint_id=complaint_id,
        status=BOUNCE_PENDING,
        recipient=normalize_recipient(record.recipient),
        provider=record.provider,
        provider_event_id=record.provider_event_id,
        feedback_type=record.feedback_type,
        complained_at=as_utc(record.occurred_at),
        received_at=now,
        seevee_message_id=keys.seevee_message_id,
        provider_message_id=normalize_message_id(record.provider_message_id),
        smtp_message_id=normalize_message_id(record.smtp_message_id),
        workspace_scope=workspace_scope,
    )
    session.add(row)
    match = await find_match(session, keys)
    if match is not None:
        publish_complained(session, row, match)
