"""A webhook delivery or a raw bounce email: dedupe, correlate, store, and publish what matched."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, union_all
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bounce_ingest.bounce_events import BounceFacts, facts_from_record
from bounce_ingest.correlation import find_matches
from bounce_ingest.domain import (
    CorrelationKeys,
    as_utc,
    keys_of,
    normalize_message_id,
    normalize_recipient,
    record_id,
    split_duplicates,
)
from bounce_ingest.models import BOUNCE_PENDING, IngestBounce, IngestComplaint
from bounce_ingest.publishing import matched_columns, publish_complained, queue_bounced
from bounce_ingest.records import ParsedRequest, ProviderRecord

_ID_CHUNK = 500


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """The answer to the provider: what was new, what it had sent before, what is not a bounce."""

    accepted: int
    duplicates: int
    ignored: int


async def _stored_ids(session: AsyncSession, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` already stored as a bounce or a complaint: one query per chunk for both."""
    connection = await session.connection()
    stored: set[str] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = list(ids[start : start + _ID_CHUNK])
        statement = union_all(
            select(col(IngestBounce.bounce_id)).where(col(IngestBounce.bounce_id).in_(chunk)),
            select(col(IngestComplaint.complaint_id)).where(col(IngestComplaint.complaint_id).in_(chunk)),
        )
        stored.update((await connection.execute(statement)).scalars())
    return stored


async def record_delivery(
    session: AsyncSession, parsed: ParsedRequest, now: datetime, workspace_scope: str | None = None
) -> DeliveryCounts:
    """Store each new record once; a match publishes at once, the rest wait for their ``message.sent``.

    Set-based: the new records are correlated together (one query per key kind), then their rows and
    outbox rows are written in one flush, in the delivery's order.
    ``workspace_scope``: the workspace that reported them (a bounce email), the only one they may touch.
    """
    ids = [record_id(record, workspace_scope) for record in parsed.records]
    new, duplicates = split_duplicates(ids, await _stored_ids(session, ids))
    to_store = set(new)
    rows: list[tuple[BounceFacts, dict[str, Any]] | IngestComplaint] = []
    keys: list[CorrelationKeys] = []
    for record_key, record in zip(ids, parsed.records, strict=True):
        if record_key not in to_store:
            continue
        to_store.discard(record_key)
        keys.append(keys_of(record, workspace_scope))
        if record.kind == "complaint":
            rows.append(_complaint_row(record_key, record, keys[-1], now))
        else:
            rows.append(_bounce_row(record, keys[-1], now))
    matches = await find_matches(await session.connection(), keys)
    bounce_rows: list[dict[str, Any]] = []
    for row, match in zip(rows, matches, strict=True):
        if isinstance(row, IngestComplaint):
            session.add(row)
            if match is not None:
                publish_complained(session, row, match)
            continue
        facts, values = row
        if match is not None:
            values |= matched_columns(match)
            queue_bounced(session, facts, match)
        bounce_rows.append(values)
    if bounce_rows:
        connection = await session.connection()
        await connection.execute(insert(IngestBounce), bounce_rows)
    await session.flush()
    return DeliveryCounts(accepted=len(new), duplicates=len(duplicates), ignored=sum(parsed.ignored.values()))


def _bounce_row(
    record: ProviderRecord, keys: CorrelationKeys, now: datetime
) -> tuple[BounceFacts, dict[str, Any]]:
    """A bounce's facts, and its row as plain values: the delivery's rows go in as one executemany."""
    facts = facts_from_record(record, keys.workspace_scope)
    return facts, dict(
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
        workspace_scope=keys.workspace_scope,
        workspace_id=None,
        message_id=None,
        thread_id=None,
        contact_id=None,
        run_id=None,
        run_step=None,
        matched_by=None,
    )


def _complaint_row(
    complaint_id: str, record: ProviderRecord, keys: CorrelationKeys, now: datetime
) -> IngestComplaint:
    return IngestComplaint(
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
        workspace_scope=keys.workspace_scope,
    )
