"""What became of the rows the relay sent: marked sent, or moved to the outbox's dead letters.

The relay records outcomes in small groups as the broker acknowledges them, so a relay killed mid-way
re-publishes only the few rows sent since its last group. On PostgreSQL the marks go straight into the
outbox (row locks: a consumer's open poll never makes them wait), on a connection of the relay's own.
A SQLite store has one writer at a time and a consumer's poll holds it for the whole poll, so there
the marks go first to a journal file beside the store (its own lock, committed in about a
millisecond) and are applied to the outbox table after; whatever a killed relay left in the
journal is applied before the next turn reads the outbox.
"""

import asyncio
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import make_url

from seevee_shared.bus.tables import OutboxDeadLetter, OutboxRecord
from seevee_shared.db import Database, is_sqlite, utcnow

_CHUNK = 500
"""Ids per ``IN`` list: well under every backend's limit on bound parameters."""


@dataclass(frozen=True)
class DeadRow:
    """A row the broker can never take, and why."""

    event_id: str
    error_type: str
    error: str


class Marks(Protocol):
    async def record(self, sent: Sequence[str], dead: Sequence[DeadRow]) -> None:
        """Make the outcome of these rows durable now (``sent`` holds event ids)."""

    async def settle(self) -> None:
        """Apply every recorded outcome to the outbox table (a no-op where ``record`` already did)."""

    def close(self) -> None: ...


async def apply_to_store(db: Database, sent: Sequence[str], dead: Sequence[DeadRow]) -> None:
    """One short transaction: sent rows get ``published_at``; dead rows move to ``outbox_dead_letter``.

    Idempotent, so a journal applied twice (a relay killed after the commit) changes nothing more.
    """
    if not sent and not dead:
        return
    now = utcnow()
    outbox, dead_letters = OutboxRecord.__table__, OutboxDeadLetter.__table__  # type: ignore[attr-defined]
    async with db.transaction() as session:
        connection = await session.connection()
        for start in range(0, len(sent), _CHUNK):
            await connection.execute(
                update(outbox)
                .where(outbox.c.event_id.in_(sent[start : start + _CHUNK]), outbox.c.published_at.is_(None))
                .values(published_at=now)
            )
        for row in dead:
            moved = select(
                outbox.c.seq,
                outbox.c.event_id,
                outbox.c.topic,
                outbox.c.key,
                outbox.c.payload,
                outbox.c.created_at,
                bindparam("error_type", row.error_type),
                bindparam("error", row.error),
                bindparam("failed_at", now, type_=dead_letters.c.failed_at.type),
            ).where(outbox.c.event_id == row.event_id)
            columns = ["seq", "event_id", "topic", "key", "payload", "created_at"]
            await connection.execute(
                insert(dead_letters).from_select([*columns, "error_type", "error", "failed_at"], moved)
            )
            await connection.execute(delete(outbox).where(outbox.c.event_id == row.event_id))


class StoreMarks:
    """Outcomes written straight into the store: sent rows by one statement per group on the relay's
    own connection (``Database.side_connection``), so marking never waits for a pooled connection
    behind the service's requests; dead rows in a transaction of their own (rare)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, sent: Sequence[str], dead: Sequence[DeadRow]) -> None:
        if sent:
            outbox, now = OutboxRecord.__table__, utcnow()  # type: ignore[attr-defined]
            async with self.db.side_connection() as connection:
                for start in range(0, len(sent), _CHUNK):
                    await connection.execute(
                        update(outbox)
                        .where(
                            outbox.c.event_id.in_(sent[start : start + _CHUNK]),
                            outbox.c.published_at.is_(None),
                        )
                        .values(published_at=now)
                    )
        if dead:
            await apply_to_store(self.db, [], dead)

    async def settle(self) -> None:
        return None

    def close(self) -> None:
        return None


class JournalMarks:
    """Outcomes journaled beside a SQLite store first, applied to its outbox table by ``settle``.

    Only the relay holding the publishing turn touches the journal, one call at a time.
    """

    def __init__(self, db: Database, path: Path) -> None:
        self.db = db
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()

    def _journal(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=30000")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS marks (event_id TEXT PRIMARY KEY, error_type TEXT, error TEXT)"
            )
            self._connection = connection
        return self._connection

    def _write(self, rows: list[tuple[str, str | None, str | None]]) -> None:
        journal = self._journal()
        journal.execute("BEGIN IMMEDIATE")
        journal.executemany("INSERT OR REPLACE INTO marks VALUES (?, ?, ?)", rows)
        journal.execute("COMMIT")

    def _read(self) -> list[tuple[str, str | None, str | None]]:
        return list(self._journal().execute("SELECT event_id, error_type, error FROM marks"))

    def _forget(self, event_ids: list[str]) -> None:
        journal = self._journal()
        journal.execute("BEGIN IMMEDIATE")
        journal.executemany("DELETE FROM marks WHERE event_id = ?", [(event_id,) for event_id in event_ids])
        journal.execute("COMMIT")

    async def record(self, sent: Sequence[str], dead: Sequence[DeadRow]) -> None:
        rows: list[tuple[str, str | None, str | None]] = [(event_id, None, None) for event_id in sent]
        rows.extend((row.event_id, row.error_type, row.error) for row in dead)
        if rows:
            async with self._lock:
                await asyncio.to_thread(self._write, rows)

    async def settle(self) -> None:
        async with self._lock:
            marks = await asyncio.to_thread(self._read)
        if not marks:
            return
        sent = [event_id for event_id, error_type, _ in marks if error_type is None]
        dead = [
            DeadRow(event_id, error_type, error or "") for event_id, error_type, error in marks if error_type
        ]
        await apply_to_store(self.db, sent, dead)
        async with self._lock:
            await asyncio.to_thread(self._forget, [mark[0] for mark in marks])

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def marks_for(db: Database) -> Marks:
    """The journal for a SQLite file, the store itself everywhere else."""
    database = make_url(db.url).database if is_sqlite(db.url) else None
    if database and database != ":memory:":
        return JournalMarks(db, Path(f"{database}.outbox-marks"))
    return StoreMarks(db)
