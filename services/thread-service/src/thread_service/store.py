"""The thread-service's store: the only module that runs SQL (the consumer's polls and the API's reads).

A poll's ``preload`` claims (PostgreSQL) and loads, in one query per table and workspace, the poll's
messages, their labels, the signals waiting for them and the threads of its sends; the handlers'
lookups are then answered from memory, and what they write is kept here too, so a later event of
the poll sees an earlier one's message, label or waiting signal. The base ``Store`` writes it all in
bulk at the end of the poll.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from seevee_shared.bus import Event
from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent
from seevee_shared.store import Entity, In, Rows, SqlRows, Store, table_of
from thread_service import domain, models
from thread_service.domain import ordered_labels

THREADS = Entity(models.Thread, domain.Thread)
MESSAGES = Entity(models.ThreadMessage, domain.Message)
LABELS = Entity(models.ThreadMessageLabel, domain.MessageLabel)
PENDING = Entity(models.ThreadPendingSignal, domain.PendingSignal)
_THREADS = table_of(models.Thread)
_MESSAGES = table_of(models.ThreadMessage)
_LABELS = table_of(models.ThreadMessageLabel)
_CLAIMS = table_of(models.ThreadWriteClaim)
_UPSERT = pg_insert(_CLAIMS)
_CLAIM = _UPSERT.on_conflict_do_update(
    index_elements=list(_CLAIMS.primary_key.columns), set_={"claimed_at": _UPSERT.excluded.claimed_at}
)

_Key = tuple[str, str]


class ThreadStore(Store):
    entities = (THREADS, MESSAGES, LABELS, PENDING)

    def __init__(self, rows: Rows) -> None:
        super().__init__(rows)
        self._messages: dict[_Key, domain.Message | None] = {}
        self._labels: dict[_Key, set[str]] = {}
        self._pending: dict[_Key, list[domain.PendingSignal]] = {}
        self._threads: dict[_Key, domain.Thread | None] = {}

    async def preload(self, events: Sequence[Event[Any]]) -> None:
        messages: dict[str, set[str]] = {}
        threads: dict[str, set[str]] = {}
        for event in events:
            payload = event.payload
            if isinstance(payload, MessageSent | MessageBounced | MessageComplained):
                messages.setdefault(event.meta.workspace_id, set()).add(payload.message_id)
            if isinstance(payload, MessageSent):
                threads.setdefault(event.meta.workspace_id, set()).add(payload.thread_id)
        for workspace_id, message_ids in sorted(messages.items()):
            await self._load_messages(workspace_id, message_ids)
        for workspace_id, thread_ids in sorted(threads.items()):
            await self._load_threads(workspace_id, thread_ids)

    async def claim(self, workspace_id: str, kind: str, keys: Sequence[str]) -> None:
        """Serialize writers of these messages or threads until the transaction ends.

        A bounce and its ``message.sent`` come from different topics and may be handled at the same
        time; without this, each could miss the other's uncommitted row and the bounce would wait
        forever. On PostgreSQL one upsert locks a claim row per key, in key order (no lock cycles
        between replicas); a concurrent poll claiming the same key waits for this one to commit.
        SQLite needs nothing: its transactions begin IMMEDIATE, so writers already queue.
        """
        if not isinstance(self.rows, SqlRows) or self.connection.dialect.name != "postgresql":
            return
        now = utcnow()
        rows = [{"workspace_id": workspace_id, "kind": kind, "key": key, "claimed_at": now} for key in keys]
        await self.connection.execute(_CLAIM, rows)  # sent as multi-row statements, still in key order

    async def _load_messages(self, workspace_id: str, message_ids: Iterable[str]) -> None:
        """The messages, their labels and the signals waiting for them; claimed first, in one order
        for every replica (no lock cycles), so no ``message.sent`` commits between read and write."""
        wanted = sorted({m for m in message_ids if (workspace_id, m) not in self._messages})
        if not wanted:
            return
        await self.claim(workspace_id, "message", wanted)
        for message_id in wanted:
            self._messages[(workspace_id, message_id)] = None
            self._labels[(workspace_id, message_id)] = set()
            self._pending[(workspace_id, message_id)] = []
        for message in await self.load(MESSAGES, workspace_id=workspace_id, message_id=In(wanted)):
            self._messages[(workspace_id, message.message_id)] = message
        for label in await self.load(LABELS, workspace_id=workspace_id, message_id=In(wanted)):
            self._labels[(workspace_id, label.message_id)].add(label.label)
        for signal in await self.load(PENDING, workspace_id=workspace_id, message_id=In(wanted)):
            self._pending[(workspace_id, signal.message_id)].append(signal)

    async def _load_threads(self, workspace_id: str, thread_ids: Iterable[str]) -> None:
        wanted = sorted({t for t in thread_ids if (workspace_id, t) not in self._threads})
        if not wanted:
            return
        await self.claim(workspace_id, "thread", wanted)
        for thread_id in wanted:
            self._threads[(workspace_id, thread_id)] = None
        for thread in await self.load(THREADS, workspace_id=workspace_id, thread_id=In(wanted)):
            self._threads[(workspace_id, thread.thread_id)] = thread

    # What the handlers ask and tell.

    async def message(self, workspace_id: str, message_id: str) -> domain.Message | None:
        await self._load_messages(workspace_id, [message_id])
        return self._messages[(workspace_id, message_id)]

    async def thread(self, workspace_id: str, thread_id: str) -> domain.Thread | None:
        await self._load_threads(workspace_id, [thread_id])
        return self._threads[(workspace_id, thread_id)]

    def add_message(self, message: domain.Message) -> None:
        self.add(message)
        self._messages[(message.workspace_id, message.message_id)] = message

    def add_thread(self, thread: domain.Thread) -> None:
        self.add(thread)
        self._threads[(thread.workspace_id, thread.thread_id)] = thread

    def add_label(self, message: domain.Message, label: str, now: datetime) -> bool:
        """Put ``label`` on the message (loaded or added here); False when it was already there."""
        labels = self._labels.setdefault((message.workspace_id, message.message_id), set())
        if label in labels:
            return False
        labels.add(label)
        self.add(domain.MessageLabel(message.workspace_id, message.message_id, label, message.thread_id, now))
        return True

    async def keep_pending(self, signal: domain.PendingSignal) -> None:
        """Hold a signal for a message not sent yet; holding the same event twice keeps one row."""
        await self._load_messages(signal.workspace_id, [signal.message_id])
        waiting = self._pending[(signal.workspace_id, signal.message_id)]
        if any(held.event_id == signal.event_id for held in waiting):
            return
        waiting.append(signal)
        self.add(signal)

    async def take_pending(self, workspace_id: str, message_id: str) -> list[domain.PendingSignal]:
        """The signals waiting for this message, in arrival order, removed from the waiting room."""
        await self._load_messages(workspace_id, [message_id])
        waiting = sorted(self._pending[(workspace_id, message_id)], key=_arrival)
        self._pending[(workspace_id, message_id)] = []
        for signal in waiting:
            self.remove(signal)
        return waiting

    # What the API reads (SQL only).

    async def find_thread(self, workspace_id: str, thread_id: str) -> domain.Thread | None:
        """A thread as the API reads it (no lock: nothing is written)."""
        found = await self.load(THREADS, workspace_id=workspace_id, thread_id=thread_id)
        return found[0] if found else None

    async def threads(
        self,
        workspace_id: str,
        *,
        limit: int,
        label: str | None = None,
        contact_id: str | None = None,
        after: tuple[datetime, str] | None = None,
    ) -> list[domain.Thread]:
        """Most recent activity first (latest message by sent_at, then thread id)."""
        query = select(_THREADS).where(_THREADS.c.workspace_id == workspace_id)
        if contact_id is not None:
            query = query.where(_THREADS.c.contact_id == contact_id)
        if label is not None:
            labelled = select(_LABELS.c.thread_id).where(
                _LABELS.c.workspace_id == workspace_id, _LABELS.c.label == label
            )
            query = query.where(_THREADS.c.thread_id.in_(labelled))
        if after is not None:
            sent_at, thread_id = after
            query = query.where(
                or_(
                    _THREADS.c.latest_sent_at < sent_at,
                    and_(_THREADS.c.latest_sent_at == sent_at, _THREADS.c.thread_id < thread_id),
                )
            )
        query = query.order_by(_THREADS.c.latest_sent_at.desc(), _THREADS.c.thread_id.desc()).limit(limit)
        return [domain.Thread(**row) for row in (await self.connection.execute(query)).mappings()]

    async def messages_of(self, workspace_id: str, thread_ids: Sequence[str]) -> list[domain.Message]:
        if not thread_ids:
            return []
        return await self.load(MESSAGES, workspace_id=workspace_id, thread_id=In(thread_ids))

    async def labels_of(self, workspace_id: str, message_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
        """Each message's labels, in their product order (messages without any are left out)."""
        found: dict[str, list[str]] = {}
        for row in await self.load(LABELS, workspace_id=workspace_id, message_id=In(message_ids)):
            found.setdefault(row.message_id, []).append(row.label)
        return {message_id: ordered_labels(labels) for message_id, labels in found.items()}


def _arrival(signal: domain.PendingSignal) -> tuple[datetime, str]:
    return (signal.received_at, signal.event_id)
