"""Pure rules of bounce-ingest: the correlation chain, ids and dedupe, the unmatched wait (no I/O)."""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bounce_ingest.records import ProviderRecord
from seevee_shared.events import Category, MatchedBy, bounce_id_for

RECIPIENT_WINDOW = timedelta(days=14)
"""A recipient alone identifies a message only if exactly one went to it in this window (all workspaces)."""
CLOCK_SKEW = timedelta(minutes=15)
"""A message stamped a little after the bounce still counts: provider and sender clocks disagree."""
BOUNCE_PENDING = "pending"
BOUNCE_MATCHED = "matched"
BOUNCE_UNMATCHED = "unmatched"
"""A bounce's (or complaint's) ``status``: waiting for its ``message.sent``, matched, given up on."""
CATEGORIES: tuple[Category, ...] = ("mailbox_unknown", "temporary", "spam_policy")


def as_category(value: str) -> Category:
    """A stored category back as the contract's literal; anything else is a corrupted row."""
    for category in CATEGORIES:
        if category == value:
            return category
    raise ValueError(f"unknown bounce category {value!r}")


def as_utc(moment: datetime) -> datetime:
    """Provider times without a zone are UTC (epoch seconds, RFC 3339 with Z dropped by a parser)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class SentMessageRef:
    """What correlation and the published events need of a sent message."""

    message_id: str
    workspace_id: str
    thread_id: str
    contact_id: str
    recipient: str
    run_id: str | None = None
    run_step: int | None = None


@dataclass(frozen=True, slots=True)
class Lookups:
    """What the store found for each correlation key of one bounce (None: key absent or no such message)."""

    by_message_id: SentMessageRef | None = None
    by_provider_message_id: SentMessageRef | None = None
    by_smtp_message_id: SentMessageRef | None = None
    to_recipient: Sequence[SentMessageRef] = ()


@dataclass(frozen=True, slots=True)
class Match:
    message: SentMessageRef
    matched_by: MatchedBy


def correlate(found: Lookups, workspace_scope: str | None = None) -> Match | None:
    """ARCHITECTURE 6: our id echoed back, the provider's id, the DSN's Message-ID, then a lone recipient.

    With a ``workspace_scope`` (a bounce email posted by one workspace), only that workspace's messages
    may match: a report from one tenant never touches another's data.
    """

    def in_scope(message: SentMessageRef) -> bool:
        return workspace_scope is None or message.workspace_id == workspace_scope

    by_key: tuple[tuple[SentMessageRef | None, MatchedBy], ...] = (
        (found.by_message_id, "message_id"),
        (found.by_provider_message_id, "provider_message_id"),
        (found.by_smtp_message_id, "smtp_message_id"),
    )
    for message, matched_by in by_key:
        if message is not None and in_scope(message):
            return Match(message, matched_by)
    distinct = {message.message_id: message for message in found.to_recipient}
    if len(distinct) == 1:
        [only] = distinct.values()
        if in_scope(only):
            return Match(only, "recipient")
    return None


@dataclass(frozen=True, slots=True)
class CorrelationKeys:
    """The keys a bounce or complaint carries towards its sent message."""

    recipient: str
    occurred_at: datetime
    seevee_message_id: str | None = None
    provider_message_id: str | None = None
    smtp_message_id: str | None = None
    workspace_scope: str | None = None


def recipient_window(bounced_at: datetime) -> tuple[datetime, datetime]:
    """The sent_at range in which a message to the same recipient could be the one that bounced."""
    return bounced_at - RECIPIENT_WINDOW, bounced_at + CLOCK_SKEW


def normalize_recipient(address: str) -> str:
    return address.strip().lower()


def normalize_message_id(value: str | None) -> str | None:
    """Message-IDs and provider ids arrive with or without angle brackets; compare them without."""
    if value is None:
        return None
    stripped = value.strip().strip("<>").strip()
    return stripped or None


def provider_message_id_candidates(value: str | None) -> list[str]:
    """Ids a provider reports for a message: SendGrid appends ``.filter...`` to the id it returned at send."""
    normalized = normalize_message_id(value)
    if normalized is None:
        return []
    candidates = [normalized]
    head, separator, _ = normalized.partition(".filter")
    if separator and head:
        candidates.append(head)
    return candidates


def scoped_event_id(provider_event_id: str, workspace_scope: str | None) -> str:
    """The event id a record's id is derived from: a reported email's is scoped to the reporting workspace.

    A raw bounce email's event id is its Message-ID, which anyone can write: unscoped, workspace A
    posting B's Message-ID first would make B's genuine bounce a "duplicate" of A's.
    """
    if workspace_scope is None:
        return provider_event_id
    return f"{provider_event_id}{SCOPE_SEPARATOR}{workspace_scope}"


SCOPE_SEPARATOR = "\x1e"
"""Never part of a stored event id (bounds.py refuses control characters in ids)."""


def record_id(record: ProviderRecord, workspace_scope: str | None = None) -> str:
    """The bounce (or complaint) id: the same provider event for the same recipient is always one record
    (within the reporting workspace, for a reported email)."""
    event_id = scoped_event_id(record.provider_event_id, workspace_scope)
    return bounce_id_for(record.provider, event_id, normalize_recipient(record.recipient))


def split_duplicates(ids: Iterable[str], already_stored: set[str]) -> tuple[list[str], list[str]]:
    """Which ids of a delivery are new, and which repeat a stored one or an earlier one in the same batch."""
    seen = set(already_stored)
    new: list[str] = []
    duplicates: list[str] = []
    for record_key in ids:
        if record_key in seen:
            duplicates.append(record_key)
        else:
            seen.add(record_key)
            new.append(record_key)
    return new, duplicates


def unmatched_due(received_at: datetime, now: datetime, wait: timedelta) -> bool:
    """A bounce gives up waiting for its ``message.sent`` once the wait is over."""
    return now - received_at >= wait


def dsn_event_id(message_id_header: str | None, raw: bytes) -> str:
    """The event id of a raw bounce email: its Message-ID, or a digest of its bytes when it has none."""
    normalized = normalize_message_id(message_id_header)
    if normalized is not None:
        return normalized
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def keys_of(record: ProviderRecord, workspace_scope: str | None = None) -> CorrelationKeys:
    return CorrelationKeys(
        recipient=normalize_recipient(record.recipient),
        occurred_at=as_utc(record.occurred_at),
        seevee_message_id=record.seevee_message_id.strip() if record.seevee_message_id else None,
        provider_message_id=normalize_message_id(record.provider_message_id),
        smtp_message_id=normalize_message_id(record.smtp_message_id),
        workspace_scope=workspace_scope,
    )


# The rows the consumer's store holds (fields = exactly the table's columns, checked by the store).


@dataclass
class SentMessage:
    """A row of ``ingest_sent_messages``: one outbound message and every key a bounce may carry."""

    message_id: str
    workspace_id: str
    thread_id: str
    contact_id: str
    run_id: str | None
    run_step: int | None
    recipient: str
    sender_mailbox: str | None
    provider: str
    provider_message_id: str | None
    smtp_message_id: str | None
    sent_at: datetime


@dataclass
class Bounce:
    """A row of ``ingest_bounces``: the ids and workspace are set once it matches a sent message."""

    bounce_id: str
    workspace_id: str | None
    status: str
    message_id: str | None
    thread_id: str | None
    contact_id: str | None
    run_id: str | None
    run_step: int | None
    recipient: str
    category: str
    reason: str
    permanent: bool
    smtp_code: int | None
    smtp_status: str | None
    diagnostic: str | None
    remote_mta: str | None
    provider: str
    provider_event_id: str
    matched_by: str | None
    bounced_at: datetime
    received_at: datetime
    seevee_message_id: str | None
    provider_message_id: str | None
    smtp_message_id: str | None
    workspace_scope: str | None


@dataclass
class Complaint:
    """A row of ``ingest_complaints``: a spam complaint, matched like a bounce."""

    complaint_id: str
    workspace_id: str | None
    status: str
    message_id: str | None
    thread_id: str | None
    contact_id: str | None
    run_id: str | None
    recipient: str
    provider: str
    provider_event_id: str
    feedback_type: str | None
    matched_by: str | None
    complained_at: datetime
    received_at: datetime
    seevee_message_id: str | None
    provider_message_id: str | None
    smtp_message_id: str | None
    workspace_scope: str | None


@dataclass
class ReplayToken:
    """A row of ``ingest_replay_tokens``: a signature token already used, with the body it came with."""

    token: str
    fingerprint: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class BounceFacts:
    """What a bounce itself says, whatever its match state: the stored row and every event about the
    bounce are built from these (``bounce_row``, ``events_out``), so each field is named here only."""

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

    def values(self) -> dict[str, Any]:
        return asdict(self)


_FACTS = tuple(BounceFacts.__dataclass_fields__)


def facts_of(row: Any) -> BounceFacts:
    """The facts of a stored bounce row (its columns carry every fact under the same name)."""
    values = {name: getattr(row, name) for name in _FACTS}
    return BounceFacts(**values | {"category": as_category(values["category"])})


def matched_columns(match: Match, *, with_step: bool = True) -> dict[str, Any]:
    """What a match writes into a bounce (or, without the step, a complaint) row."""
    message = match.message
    columns: dict[str, Any] = {
        "status": BOUNCE_MATCHED,
        "workspace_id": message.workspace_id,
        "message_id": message.message_id,
        "thread_id": message.thread_id,
        "contact_id": message.contact_id,
        "run_id": message.run_id,
        "matched_by": match.matched_by,
    }
    if with_step:
        columns["run_step"] = message.run_step
    return columns


def settle(row: Any, columns: dict[str, Any]) -> None:
    """Write ``columns`` into a row object (one the store holds)."""
    for name, value in columns.items():
        setattr(row, name, value)


def bounce_row(
    facts: BounceFacts, keys: CorrelationKeys, received_at: datetime, match: Match | None
) -> Bounce:
    """A new bounce's row: its facts, the keys it came with, and its match if it has one already."""
    row = Bounce(
        **facts.values(),
        status=BOUNCE_PENDING,
        received_at=received_at,
        seevee_message_id=keys.seevee_message_id,
        workspace_scope=keys.workspace_scope,
        workspace_id=None,
        message_id=None,
        thread_id=None,
        contact_id=None,
        run_id=None,
        run_step=None,
        matched_by=None,
    )
    if match is not None:
        settle(row, matched_columns(match))
    return row


def keys_of_bounce(row: Bounce) -> CorrelationKeys:
    """The keys a stored bounce carries towards its message (what the sweep and the handler look up)."""
    return CorrelationKeys(
        recipient=row.recipient,
        occurred_at=row.bounced_at,
        seevee_message_id=row.seevee_message_id,
        provider_message_id=row.provider_message_id,
        smtp_message_id=row.smtp_message_id,
        workspace_scope=row.workspace_scope,
    )


def keys_of_complaint(row: Complaint) -> CorrelationKeys:
    return CorrelationKeys(
        recipient=row.recipient,
        occurred_at=row.complained_at,
        seevee_message_id=row.seevee_message_id,
        provider_message_id=row.provider_message_id,
        smtp_message_id=row.smtp_message_id,
        workspace_scope=row.workspace_scope,
    )
