"""bounce-ingest's store: the only module that reads or writes its tables (through ``Rows``).

It serves the three ways in. A webhook delivery or a bounce email (``record_bounces``): which records
are stored already, the matches of the new ones, their rows and events. The ``message.sent`` consumer:
a poll's ``preload`` loads the poll's stored sent messages and the waiting bounces and complaints that
share a key with any of them, one query per table; the handler then asks of each message from memory
whether anything waits for it. Most messages never bounce: their rows go in with the poll's bulk
write. Only when a bounce or complaint may be waiting does the store write the poll's messages early,
so the correlation chain (which reads the rows) sees them, and lock the waiting rows it then settles.
The sweep (``release_unmatched``): the due rows, locked, skipping those another replica holds. The
API: a workspace's matched bounces, newest first. The replay guard: signature tokens already used.

Correlation (``matches``) loads the sent messages by each key kind in the chain's order, one ``In``
load for every key set still unmatched, so a bounce matched by our echoed id costs no further load;
the pure rule (``domain.correlate``) decides after each step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from bounce_ingest import domain
from bounce_ingest.domain import (
    CLOCK_SKEW,
    RECIPIENT_WINDOW,
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
from bounce_ingest.models import (
    BOUNCE_PENDING,
    BOUNCE_UNMATCHED,
    IngestBounce,
    IngestComplaint,
    IngestReplayToken,
    IngestSentMessage,
)
from seevee_shared.bus import Event, of_type
from seevee_shared.events import MessageSent
from seevee_shared.store import AtMost, Below, Between, Desc, Entity, In, Rows, StartsWith, Store
from seevee_shared.store.conditions import Matcher, Where

SENT = Entity(IngestSentMessage, domain.SentMessage)
BOUNCES = Entity(IngestBounce, domain.Bounce)
COMPLAINTS = Entity(IngestComplaint, domain.Complaint)
REPLAY_TOKENS = Entity(IngestReplayToken, domain.ReplayToken)
_WAITING_IN = ((BOUNCES.table, "bounced_at"), (COMPLAINTS.table, "complained_at"))
"""Each table of rows that wait for their message, and the column saying when the row happened."""

WAITING = (BOUNCE_PENDING, BOUNCE_UNMATCHED)
"""Unmatched rows too: a message that shows up late still gets its ``message.bounced``."""
SENDGRID_SUFFIX = ".filter"
"""SendGrid reports the id it returned at send with ``.filter...`` appended."""
PROBE_CHUNK = 250
"""Messages per waiting-rows probe: their keys stay well within what one statement may list."""

_Probed = tuple[str, datetime, str, str | None, str | None]
"""The keys of a message the probe looks for: its id, sent_at, recipient, provider and SMTP ids."""


class IngestStore(Store):
    entities = (SENT, BOUNCES, COMPLAINTS, REPLAY_TOKENS)

    def __init__(self, rows: Rows) -> None:
        super().__init__(rows)
        self._sent: dict[str, domain.SentMessage | None] = {}
        self._probed: set[_Probed] = set()
        self._may_wait: dict[str, list[dict[str, Any]]] = {table.name: [] for table, _ in _WAITING_IN}

    async def preload(self, events: Sequence[Event[Any]]) -> None:
        sent = [event.payload for event in of_type(events, MessageSent)]
        await self._load_sent({payload.message_id for payload in sent})
        await self._probe([_probed_keys(payload) for payload in sent])

    async def _load_sent(self, message_ids: set[str]) -> None:
        if not message_ids:
            return
        for message_id in message_ids:
            self._sent.setdefault(message_id, None)
        for row in await self.load(SENT, message_id=In(message_ids)):
            self._sent[row.message_id] = row

    async def _probe(self, messages: Iterable[_Probed]) -> None:
        """Load (unlocked) the waiting rows that share a key with any of ``messages``: a row not found
        waiting now never is (rows only settle); one found may be settled by the time it is locked."""
        wanted = [keys for keys in dict.fromkeys(messages) if keys not in self._probed]
        self._probed.update(wanted)
        for start in range(0, len(wanted), PROBE_CHUNK):
            chunk = wanted[start : start + PROBE_CHUNK]
            for table, occurred_at in _WAITING_IN:
                found = await self.rows.fetch_any(table, _waiting_for_any(chunk, occurred_at))
                self._may_wait[table.name].extend(found)

    # What the message.sent handler asks and tells.

    async def sent_message(self, message_id: str) -> domain.SentMessage | None:
        """The message, if an earlier poll or this one stored it."""
        if message_id not in self._sent:
            await self._load_sent({message_id})
        return self._sent[message_id]

    def remember(self, message: domain.SentMessage) -> None:
        """A new sent message, inserted with the poll's writes."""
        self.add(message)
        self._sent[message.message_id] = message

    async def anything_waiting(self, message: domain.SentMessage) -> bool:
        """Whether a bounce or complaint the poll's probe found shares a key with the message."""
        keys = _probed_keys(message)
        await self._probe([keys])
        for table, occurred_at in _WAITING_IN:
            found = self._may_wait[table.name]
            if found:
                tests = [Matcher(table, where) for where in _waiting_for_any([keys], occurred_at)]
                if any(test(row) for row in found for test in tests):
                    return True
        return False

    async def waiting_bounces(self, message: domain.SentMessage) -> list[domain.Bounce]:
        """The still waiting bounces sharing a key with the message, locked (PostgreSQL)."""
        where = _waiting_for_any([_probed_keys(message)], "bounced_at")
        found = await self.load_any(BOUNCES, where, lock="update")
        return sorted((row for row in found if row.status in WAITING), key=lambda row: row.bounce_id)

    async def waiting_complaints(self, message: domain.SentMessage) -> list[domain.Complaint]:
        """The still waiting complaints sharing a key with the message, locked (PostgreSQL)."""
        where = _waiting_for_any([_probed_keys(message)], "complained_at")
        found = await self.load_any(COMPLAINTS, where, lock="update")
        return sorted((row for row in found if row.status in WAITING), key=lambda row: row.complaint_id)

    async def matches(self, keys: Sequence[CorrelationKeys]) -> list[Match | None]:
        """The sent message each key set belongs to, after writing the poll's pending messages."""
        await self.write()
        return await _find_matches(self.rows, keys)

    # What the write path and the sweep ask.

    async def stored_ids(self, ids: Sequence[str]) -> set[str]:
        """The ids among ``ids`` already stored as a bounce or a complaint."""
        bounces = await self.rows.fetch(BOUNCES.table, {"bounce_id": In(ids)})
        complaints = await self.rows.fetch(COMPLAINTS.table, {"complaint_id": In(ids)})
        return {row["bounce_id"] for row in bounces} | {row["complaint_id"] for row in complaints}

    async def due_bounces(self, cutoff: datetime, limit: int) -> list[domain.Bounce]:
        """Pending bounces received by ``cutoff``, oldest first; rows another replica holds are
        skipped (PostgreSQL; SQLite serializes writers anyway)."""
        return await self.load_any(
            BOUNCES, _due(cutoff), order_by=["received_at"], limit=limit, lock="skip_locked"
        )

    async def due_complaints(self, cutoff: datetime, limit: int) -> list[domain.Complaint]:
        """As ``due_bounces``, for complaints."""
        return await self.load_any(
            COMPLAINTS, _due(cutoff), order_by=["received_at"], limit=limit, lock="skip_locked"
        )

    async def admit_token(self, token: str, fingerprint: str, expires_at: datetime, now: datetime) -> bool:
        """Whether a signature token may be used with this body: a new token is recorded until it
        expires, a known one admits only the body it first came with. Expired tokens go."""
        for expired in await self.load(REPLAY_TOKENS, expires_at=AtMost(now)):
            self.remove(expired)
        known = [row for row in await self.load(REPLAY_TOKENS, token=token) if row.expires_at > now]
        if known:
            return known[0].fingerprint == fingerprint
        self.add(domain.ReplayToken(token=token, fingerprint=fingerprint, expires_at=expires_at))
        return True

    # What the API reads.

    async def bounce(self, workspace_id: str, bounce_id: str) -> domain.Bounce | None:
        """A bounce of the workspace (an unmatched one belongs to none)."""
        found = await self.load(BOUNCES, bounce_id=bounce_id, workspace_id=workspace_id)
        return found[0] if found else None

    async def bounces(
        self,
        workspace_id: str,
        *,
        limit: int,
        after: tuple[datetime, str] | None = None,
        **filters: str | None,
    ) -> list[domain.Bounce]:
        """The workspace's bounces, newest received first (then bounce id), after a page's last one;
        ``filters`` (column -> value) left None ask nothing."""
        where: Where = {"workspace_id": workspace_id} | {k: v for k, v in filters.items() if v is not None}
        alternatives = [where]
        if after is not None:
            received_at, bounce_id = after
            alternatives = [
                {**where, "received_at": Below(received_at)},
                {**where, "received_at": received_at, "bounce_id": Below(bounce_id)},
            ]
        order = [Desc("received_at"), Desc("bounce_id")]
        return await self.load_any(BOUNCES, alternatives, order_by=order, limit=limit)


def _probed_keys(message: domain.SentMessage | MessageSent) -> _Probed:
    return (
        message.message_id,
        domain.as_utc(message.sent_at),
        domain.normalize_recipient(message.recipient),
        domain.normalize_message_id(message.provider_message_id),
        domain.normalize_message_id(message.smtp_message_id),
    )


def _waiting_for_any(messages: Sequence[_Probed], occurred_at: str) -> list[Where]:
    """Waiting rows sharing a key with any of the messages; correlation then decides which match.

    By recipient, only rows they could explain: within the recipient window of a send (for several
    messages, of any of their sends: a probe may find more than each message's own look then keeps).
    Rows this poll already settled are still waiting in the database: the caller filters them out.
    """
    waiting = In(WAITING)
    sent_at = [at for _, at, *_ in messages]
    provider_ids = [provider_id for *_, provider_id, _ in messages if provider_id]
    smtp_ids = [smtp_id for *_, smtp_id in messages if smtp_id]
    alternatives: list[Where] = [
        {"status": waiting, "seevee_message_id": In([message_id for message_id, *_ in messages])},
        {
            "status": waiting,
            "recipient": In([recipient for _, _, recipient, _, _ in messages]),
            occurred_at: Between(min(sent_at) - CLOCK_SKEW, max(sent_at) + RECIPIENT_WINDOW),
        },
    ]
    if provider_ids:
        alternatives.append({"status": waiting, "provider_message_id": In(provider_ids)})
        alternatives.extend(
            {"status": waiting, "provider_message_id": StartsWith(provider_id + SENDGRID_SUFFIX)}
            for provider_id in provider_ids
        )
    if smtp_ids:
        alternatives.append({"status": waiting, "smtp_message_id": In(smtp_ids)})
    return alternatives


def _due(cutoff: datetime) -> list[Where]:
    return [{"status": BOUNCE_PENDING, "received_at": AtMost(cutoff)}]


# The correlation loads: one per key kind, for every key set the chain has not matched yet.

_RECIPIENT_SAMPLE = 2
"""Two messages in the window are enough to call a recipient ambiguous."""

_Found = tuple[str, SentMessageRef, datetime]
"""A looked-up key value, the message it found, and when that message was sent."""


async def _sent_by(rows: Rows, key: str, values: Collection[str], **extra: Any) -> list[_Found]:
    """Every sent message whose ``key`` is one of ``values`` (and meets ``extra``), as plain tuples."""
    if not values:
        return []
    found: list[_Found] = []
    for row in await rows.fetch(SENT.table, {key: In(sorted(values)), **extra}):
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


async def _find_matches(rows: Rows, keys: Sequence[CorrelationKeys]) -> list[Match | None]:
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
