"""Looks up the correlation keys of a whole delivery in the sent-message table; the pure chain decides.

One ``In`` load per key kind for all the bounces still unmatched, in the chain's order, so a bounce
matched by our echoed id costs no further lookup. The loads go through the store's ``Rows`` (the
database, or memory in unit tests); ``IngestStore.matches`` is the one caller.
"""

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bounce_ingest.domain import (
    Bounce,
    Complaint,
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
from seevee_shared.store import Between, In, Rows, table_of

_SENT = table_of(IngestSentMessage)
_RECIPIENT_SAMPLE = 2
"""Two messages in the window are enough to call a recipient ambiguous."""

_Found = tuple[str, SentMessageRef, datetime]
"""A looked-up key value, the message it found, and when that message was sent."""


async def _sent_by(rows: Rows, key: str, values: Collection[str], **extra: Any) -> list[_Found]:
    """Every sent message whose ``key`` is one of ``values`` (and meets ``extra``), as plain tuples."""
    if not values:
        return []
    found: list[_Found] = []
    for row in await rows.fetch(_SENT, {key: In(sorted(values)), **extra}):
        ref = SentMessageRef(
            row["message_id"],
            row["workspace_id"],
            row["thread_id"],
            row["contact_id"],
            row["recipient"],
            row["run_id"],
            row["run_step"],
        )
        found.append((row[key], ref, row["sent_at"]))
    return found


def _newest(found: Iterable[_Found]) -> dict[str, SentMessageRef]:
    """Per key value, the most recently sent message carrying it (a provider may reuse an id)."""
    newest: dict[str, tuple[datetime, SentMessageRef]] = {}
    for value, ref, sent_at in found:
        current = newest.get(value)
        if current is None or sent_at > current[0]:
            newest[value] = (sent_at, ref)
    return {value: ref for value, (_, ref) in newest.items()}


class _Chain:
    """The lookups of each bounce so far; a bounce leaves the chain once ``correlate`` matches it."""

    def __init__(self, keys: Sequence[CorrelationKeys]) -> None:
        self.keys = keys
        self.found = [Lookups() for _ in keys]
        self.matches: list[Match | None] = [None] * len(keys)
        self.open = list(range(len(keys)))

    def settle(self) -> None:
        still_open = []
        for index in self.open:
            match = correlate(self.found[index], self.keys[index].workspace_scope)
            if match is None:
                still_open.append(index)
            else:
                self.matches[index] = match
        self.open = still_open


async def _look_up_message_ids(rows: Rows, chain: _Chain) -> None:
    wanted: dict[int, str] = {}
    for index in chain.open:
        value = chain.keys[index].seevee_message_id
        if value:
            wanted[index] = value.strip()
    found = {value: ref for value, ref, _ in await _sent_by(rows, "message_id", set(wanted.values()))}
    for index, value in wanted.items():
        chain.found[index] = replace(chain.found[index], by_message_id=found.get(value))


async def _look_up_provider_message_ids(rows: Rows, chain: _Chain) -> None:
    wanted = {
        index: candidates
        for index in chain.open
        if (candidates := provider_message_id_candidates(chain.keys[index].provider_message_id))
    }
    values = {candidate for candidates in wanted.values() for candidate in candidates}
    newest = _newest(await _sent_by(rows, "provider_message_id", values))
    for index, candidates in wanted.items():
        ref = next((newest[value] for value in candidates if value in newest), None)
        chain.found[index] = replace(chain.found[index], by_provider_message_id=ref)


async def _look_up_smtp_message_ids(rows: Rows, chain: _Chain) -> None:
    wanted = {
        index: value
        for index in chain.open
        if (value := normalize_message_id(chain.keys[index].smtp_message_id)) is not None
    }
    newest = _newest(await _sent_by(rows, "smtp_message_id", set(wanted.values())))
    for index, value in wanted.items():
        chain.found[index] = replace(chain.found[index], by_smtp_message_id=newest.get(value))


async def _look_up_recipients(rows: Rows, chain: _Chain) -> None:
    """One query over the span of every open bounce's window; each bounce then keeps its own window."""
    if not chain.open:
        return
    wanted = {
        index: (
            normalize_recipient(chain.keys[index].recipient),
            *recipient_window(chain.keys[index].occurred_at),
        )
        for index in chain.open
    }
    earliest = min(start for _, start, _ in wanted.values())
    latest = max(end for _, _, end in wanted.values())
    recipients = {recipient for recipient, _, _ in wanted.values()}
    found = await _sent_by(rows, "recipient", recipients, sent_at=Between(earliest, latest))
    by_recipient: defaultdict[str, list[tuple[SentMessageRef, datetime]]] = defaultdict(list)
    for recipient, ref, at in found:
        by_recipient[recipient].append((ref, at))
    for index, (recipient, start, end) in wanted.items():
        in_window = [ref for ref, at in by_recipient.get(recipient, ()) if start <= at <= end]
        chain.found[index] = replace(chain.found[index], to_recipient=tuple(in_window[:_RECIPIENT_SAMPLE]))


async def find_matches(rows: Rows, keys: Sequence[CorrelationKeys]) -> list[Match | None]:
    """The sent message each bounce belongs to (None: not yet known), in the order of ``keys``.

    Keys are looked up in the chain's order and only for bounces no earlier key matched; ``correlate``
    decides after each step, so the answer is the one the full set of lookups would give.
    The loads read ``rows`` as they stand: a caller that added sent messages writes them first.
    """
    chain = _Chain(keys)
    for look_up in (
        _look_up_message_ids,
        _look_up_provider_message_ids,
        _look_up_smtp_message_ids,
        _look_up_recipients,
    ):
        if not chain.open:
            break
        await look_up(rows, chain)
        chain.settle()
    return chain.matches


def keys_of_bounce(row: IngestBounce | Bounce) -> CorrelationKeys:
    return CorrelationKeys(
        recipient=row.recipient,
        occurred_at=row.bounced_at,
        seevee_message_id=row.seevee_message_id,
        provider_message_id=row.provider_message_id,
        smtp_message_id=row.smtp_message_id,
        workspace_scope=row.workspace_scope,
    )


def keys_of_complaint(row: IngestComplaint | Complaint) -> CorrelationKeys:
    return CorrelationKeys(
        recipient=row.recipient,
        occurred_at=row.complained_at,
        seevee_message_id=row.seevee_message_id,
        provider_message_id=row.provider_message_id,
        smtp_message_id=row.smtp_message_id,
        workspace_scope=row.workspace_scope,
    )
