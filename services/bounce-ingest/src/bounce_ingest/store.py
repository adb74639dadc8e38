"""bounce-ingest's consumer store: the only SQL of the ``message.sent`` handler.

A poll's ``preload`` loads the poll's already stored sent messages in one query; the handler's lookups
are then answered from memory, and the messages it stores are kept here too, so the same message twice
in one poll is stored once. Most messages never bounce: their rows go in with the poll's bulk write.
Only when a bounce or complaint may be waiting does the store write the poll's messages early, so the
correlation chain (which reads the database) sees them, and lock the waiting rows it then settles.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, or_, select, union_all

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
from seevee_shared.store import Entity, In, Rows, Store, table_of

SENT = Entity(IngestSentMessage, domain.SentMessage)
BOUNCES = Entity(IngestBounce, domain.Bounce)
COMPLAINTS = Entity(IngestComplaint, domain.Complaint)
_BOUNCES = table_of(IngestBounce)
_COMPLAINTS = table_of(IngestComplaint)

WAITING = (BOUNCE_PENDING, BOUNCE_UNMATCHED)
"""Unmatched rows too: a message that shows up late still gets its ``message.bounced``."""


class IngestStore(Store):
    entities = (SENT, BOUNCES, COMPLAINTS)

    def __init__(self, rows: Rows) -> None:
        super().__init__(rows)
        self._sent: dict[str, domain.SentMessage | None] = {}

    async def preload(self, events: Sequence[Event[Any]]) -> None:
        await self._load_sent({event.payload.message_id for event in of_type(events, MessageSent)})

    async def _load_sent(self, message_ids: set[str]) -> None:
        if not message_ids:
            return
        for message_id in message_ids:
            self._sent.setdefault(message_id, None)
        for row in await self.load(SENT, message_id=In(message_ids)):
            self._sent[row.message_id] = row

    # What the handler asks and tells.

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
        """One cheap probe of both tables; a row it does not call waiting never is (rows only settle)."""
        probe = union_all(
            select(_BOUNCES.c.bounce_id).where(_waiting_for(_BOUNCES, _BOUNCES.c.bounced_at, message)),
            select(_COMPLAINTS.c.complaint_id).where(
                _waiting_for(_COMPLAINTS, _COMPLAINTS.c.complained_at, message)
            ),
        )
        return (await self.connection.execute(probe)).first() is not None

    async def waiting_bounces(self, message: domain.SentMessage) -> list[domain.Bounce]:
        """The still waiting bounces sharing a key with the message, locked (PostgreSQL)."""
        ids = await self._locked_ids(_BOUNCES, _BOUNCES.c.bounce_id, _BOUNCES.c.bounced_at, message)
        found = await self.load(BOUNCES, bounce_id=In(ids)) if ids else []
        return sorted((row for row in found if row.status in WAITING), key=lambda row: row.bounce_id)

    async def waiting_complaints(self, message: domain.SentMessage) -> list[domain.Complaint]:
        """The still waiting complaints sharing a key with the message, locked (PostgreSQL)."""
        ids = await self._locked_ids(
            _COMPLAINTS, _COMPLAINTS.c.complaint_id, _COMPLAINTS.c.complained_at, message
        )
        found = await self.load(COMPLAINTS, complaint_id=In(ids)) if ids else []
        return sorted((row for row in found if row.status in WAITING), key=lambda row: row.complaint_id)

    async def matches(self, keys: Sequence[CorrelationKeys]) -> list[Match | None]:
        """The sent message each key set belongs to, after writing the poll's pending messages."""
        await self.write()
        return await find_matches(self.connection, keys)

    async def _locked_ids(
        self, table: Table, key: Any, occurred_at: Any, message: domain.SentMessage
    ) -> set[str]:
        statement = select(key).where(_waiting_for(table, occurred_at, message)).with_for_update()
        return {value for (value,) in await self.connection.execute(statement)}


def _waiting_for(table: Table, occurred_at: Any, message: domain.SentMessage) -> ColumnElement[bool]:
    """Waiting rows sharing a key with the message; correlation then decides which really match.

    By recipient, only rows the message could explain: those within the recipient window of its send.
    Rows this poll already settled are still waiting in the database: the caller filters them out.
    """
    c = table.c
    conditions = [
        and_(
            c.recipient == message.recipient,
            occurred_at >= message.sent_at - CLOCK_SKEW,
            occurred_at <= message.sent_at + RECIPIENT_WINDOW,
        ),
        c.seevee_message_id == message.message_id,
    ]
    if message.provider_message_id:
        conditions.append(c.provider_message_id == message.provider_message_id)
        conditions.append(
            c.provider_message_id.startswith(message.provider_message_id + ".filter", autoescape=True)
        )
    if message.smtp_message_id:
        conditions.append(c.smtp_message_id == message.smtp_message_id)
    return and_(c.status.in_(WAITING), or_(*conditions))
