"""bounce-ingest's store: the only module that reads or writes its tables (through ``Rows``).

It serves the three ways in. A webhook delivery or a bounce email (``record_bounces``): which records
are stored already, the matches of the new ones, their rows and events. The ``message.sent`` consumer:
a poll's ``preload`` loads the poll's stored sent messages and the waiting bounces and complaints that
share a key with any of them, one query per table; the handler then asks of each message from memory
whether anything waits for it. Most messages never bounce: their rows go in with the poll's bulk
write. Only when a bounce or complaint may be waiting does the store write the poll's messages early,
so the correlation chain (which reads the rows) sees them, and lock the waiting rows it then settles.
The sweep (``release_unmatched``): the due rows, locked, skipping those another replica holds. The
API: a workspace's matched bounces, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from bounce_ingest import domain
from bounce_ingest.correlation import find_matches
from bounce_ingest.domain import CLOCK_SKEW, RECIPIENT_WINDOW, CorrelationKeys, Match
from bounce_ingest.models import (
    BOUNCE_PENDING,
    BOUNCE_UNMATCHED,
    IngestBounce,
    IngestComplaint,
    IngestSentMessage,
)
from seevee_shared.bus import Event, of_type
from seevee_shared.events import MessageSent
from seevee_shared.store import AtMost, Below, Between, Desc, Entity, In, Rows, StartsWith, Store
from seevee_shared.store.conditions import Matcher, Where

SENT = Entity(IngestSentMessage, domain.SentMessage)
BOUNCES = Entity(IngestBounce, domain.Bounce)
COMPLAINTS = Entity(IngestComplaint, domain.Complaint)
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
    entities = (SENT, BOUNCES, COMPLAINTS)

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
        return await find_matches(self.rows, keys)

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
