"""The write path: a webhook delivery or a raw bounce email is bounded, deduped, correlated, stored,
and what matched is published, in one transaction per delivery (told apart from a store outage).

Bounds first (pure): one oversized field must never make an event unpublishable (the producer refuses
records over 1 MiB, and a relay publishing in order would hold everything behind it). Text that only
describes a bounce is truncated with a marker; an id or an address cannot be truncated without
becoming another one, so a record carrying an over-long or control-character id is refused (a 4xx:
a retry never helps).
"""

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bounce_ingest import events_out
from bounce_ingest.classification import classify
from bounce_ingest.domain import (
    BOUNCE_PENDING,
    BounceFacts,
    Complaint,
    as_utc,
    bounce_row,
    keys_of,
    matched_columns,
    normalize_message_id,
    normalize_recipient,
    record_id,
    settle,
    split_duplicates,
)
from bounce_ingest.records import ParsedRequest, ProviderRecord
from bounce_ingest.store import IngestStore
from seevee_shared.db import Database
from seevee_shared.store import SqlRows

TRUNCATED = " …[truncated]"
"""Ends every truncated value, so a reader knows the text went on."""

TEXT_BOUNDS: dict[str, int] = {
    "diagnostic": 2000,
    "remote_mta": 255,
    "smtp_status": 32,
    "reason": 64,
    "feedback_type": 64,
}
"""Characters kept of the descriptive fields (the marker included)."""

ID_BOUNDS: dict[str, int] = {
    "provider_event_id": 998,
    "recipient": 320,
    "seevee_message_id": 200,
    "provider_message_id": 998,
    "smtp_message_id": 998,
}
"""Characters allowed in identifying fields: 998 is RFC 5322's line limit (a Message-ID is one header
line), 320 an address (64 + @ + 255), 200 our own ids. Longer: the record is refused."""


class FieldOutOfBounds(ValueError):
    """A record carries an id that no provider sends: the whole request is refused."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)].rstrip() + TRUNCATED


def _check_id(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise FieldOutOfBounds(f"{name} is longer than {limit} characters")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise FieldOutOfBounds(f"{name} holds a control character")


def bounded(record: ProviderRecord) -> ProviderRecord:
    """The record with its descriptive text truncated; ``FieldOutOfBounds`` for an id out of bounds."""
    for name, limit in ID_BOUNDS.items():
        value = getattr(record, name)
        if value is not None:
            _check_id(name, value, limit)
    changes: dict[str, Any] = {
        name: truncate(value, limit)
        for name, limit in TEXT_BOUNDS.items()
        if (value := getattr(record, name)) is not None and len(value) > limit
    }
    return dataclasses.replace(record, **changes) if changes else record


def bounded_request(parsed: ParsedRequest) -> ParsedRequest:
    """Every record of a delivery within its bounds (or ``FieldOutOfBounds`` for the delivery)."""
    return ParsedRequest(records=[bounded(record) for record in parsed.records], ignored=parsed.ignored)


class StoreUnavailable(Exception):
    """The records could not be written; the sender must retry (a 5xx, never a 2xx or a 4xx)."""


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """The answer to the provider: what was new, what it had sent before, what is not a bounce."""

    accepted: int
    duplicates: int
    ignored: int


async def store_delivery(
    db: Database, parsed: ParsedRequest, now: datetime, workspace_scope: str | None = None
) -> DeliveryCounts:
    """Store a delivery; a concurrent copy of it that committed first turns this one into duplicates."""
    try:
        try:
            return await _write(db, parsed, now, workspace_scope)
        except IntegrityError:
            return await _write(db, parsed, now, workspace_scope)
    except (SQLAlchemyError, OSError) as error:
        raise StoreUnavailable(repr(error)) from error


async def _write(
    db: Database, parsed: ParsedRequest, now: datetime, workspace_scope: str | None
) -> DeliveryCounts:
    async with db.transaction() as session:
        store = IngestStore(SqlRows(await session.connection()))
        counts = await record_delivery(store, parsed, now, workspace_scope)
        await store.write()
        return counts


async def record_delivery(
    store: IngestStore, parsed: ParsedRequest, now: datetime, workspace_scope: str | None = None
) -> DeliveryCounts:
    """Store each new record once; a match publishes at once, the rest wait for their ``message.sent``.

    Set-based: the new records are correlated together (one load per key kind); at the store's
    ``write`` their rows go in as one statement per table, then their outbox rows, in the delivery's
    order. ``workspace_scope``: the workspace that reported them (a bounce email), the only one they
    may touch.
    """
    ids = [record_id(record, workspace_scope) for record in parsed.records]
    new, duplicates = split_duplicates(ids, await store.stored_ids(ids))
    to_store = set(new)
    fresh = []
    for record_key, record in zip(ids, parsed.records, strict=True):
        if record_key in to_store:
            to_store.discard(record_key)
            fresh.append((record_key, record, keys_of(record, workspace_scope)))
    matches = await store.matches([keys for _, _, keys in fresh])
    for (record_key, record, keys), match in zip(fresh, matches, strict=True):
        if record.kind == "complaint":
            complaint = _complaint_row(record_key, record, keys.seevee_message_id, workspace_scope, now)
            if match is not None:
                settle(complaint, matched_columns(match, with_step=False))
                store.publish(events_out.complained(complaint, match))
            store.add(complaint)
            continue
        facts = facts_from_record(record, workspace_scope)
        store.add(bounce_row(facts, keys, now, match))
        if match is not None:
            store.publish(events_out.bounced(facts, match))
    return DeliveryCounts(accepted=len(new), duplicates=len(duplicates), ignored=sum(parsed.ignored.values()))


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


def _complaint_row(
    complaint_id: str,
    record: ProviderRecord,
    seevee_message_id: str | None,
    workspace_scope: str | None,
    now: datetime,
) -> Complaint:
    return Complaint(
        complaint_id=complaint_id,
        workspace_id=None,
        status=BOUNCE_PENDING,
        message_id=None,
        thread_id=None,
        contact_id=None,
        run_id=None,
        recipient=normalize_recipient(record.recipient),
        provider=record.provider,
        provider_event_id=record.provider_event_id,
        feedback_type=record.feedback_type,
        matched_by=None,
        complained_at=as_utc(record.occurred_at),
        received_at=now,
        seevee_message_id=seevee_message_id,
        provider_message_id=normalize_message_id(record.provider_message_id),
        smtp_message_id=normalize_message_id(record.smtp_message_id),
        workspace_scope=workspace_scope,
    )
