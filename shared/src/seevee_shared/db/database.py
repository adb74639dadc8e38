"""The engine and the one way to touch the store: a transaction that commits or rolls back whole."""

import asyncio
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.db.schema_head import script_heads

T = TypeVar("T")
_READ_ONLY = "seevee_read_only"
"""Execution option of ``Database.reading``'s connections: SQLite begins them deferred."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> str | None:
    database = make_url(url).database
    return database if is_sqlite(url) and database and database != ":memory:" else None


def _prepare_sqlite(engine: Engine, url: str) -> None:
    """WAL, a busy timeout and BEGIN IMMEDIATE: replicas sharing a file queue instead of failing."""
    database = _sqlite_file(url)
    if database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        reading = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


class Database:
    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 10,
        max_overflow: int = 10,
        pool_timeout: float = 30.0,
    ) -> None:
        """``pool_*`` bound each process's PostgreSQL connections (SQLite ignores them)."""
        self.url = url
        options: dict[str, Any] = {"echo": echo}
        if not is_sqlite(url):
            options.update(
                pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout, pool_pre_ping=True
            )
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if is_sqlite(url):
            _prepare_sqlite(self.engine.sync_engine, url)
        self._writer: _SqliteWriter | None = None
        self._side: AsyncEngine | None = None
        self._reader = self.engine.execution_options(**{_READ_ONLY: True})
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: everything inside commits together or not at all."""
        async with self._sessions() as session, session.begin():
            yield session

    async def run_transaction(self, work: Callable[[Connection], T]) -> T:
        """``work`` (Core statements on a synchronous connection) in one transaction, committed whole.

        On a SQLite file the transaction runs on a writer thread of its own with the synchronous
        driver: one hand-over to that thread per transaction, where aiosqlite hands over each cursor,
        statement and commit (three or four per statement), which is most of a small transaction's
        cost. Elsewhere (PostgreSQL) it runs on the async engine through ``run_sync``.
        """
        database = _sqlite_file(self.url)
        if database is None:
            async with self.engine.begin() as connection:
                return await connection.run_sync(work)
        if self._writer is None:
            self._writer = _SqliteWriter(self.url)
        return await self._writer.run(work)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A read-only snapshot that never waits for a writer: on SQLite a deferred transaction,
        which in WAL mode needs no write lock (a long write elsewhere does not hold it up)."""
        async with self._reader.connect() as connection, connection.begin():
            yield connection

    @asynccontextmanager
    async def side_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection of its own, outside the pool requests and polls share, that commits each
        statement at once: for short bookkeeping writes (the relay's marks) that must never queue
        behind a burst of requests for a pooled connection, nor pay its checkout ping and BEGIN."""
        if self._side is None:
            self._side = create_async_engine(
                self.url, pool_size=1, max_overflow=0, isolation_level="AUTOCOMMIT"
            )
        async with self._side.connect() as connection:
            yield connection

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def upgrade(self, migrations_dir: Path) -> None:
        """Alembic upgrade to head on this database (serialized between replicas by the DB lock);
        a store already at head is told by one query, without starting Alembic."""
        heads = script_heads(migrations_dir)
        if heads and await self.applied_revisions() == heads:
            return
        from seevee_shared.db.migrations import upgrade_connection

        async with self.engine.begin() as connection:
            await connection.run_sync(upgrade_connection, migrations_dir)

    async def applied_revisions(self) -> frozenset[str]:
        """The Alembic revisions the store is at (none before its first migration)."""
        try:
            async with self.reading() as connection:
                rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
                return frozenset(str(row[0]) for row in rows)
        except DBAPIError:
            return frozenset()

    async def dispose(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            await asyncio.shield(writer.close())
        if self._side is not None:
            side, self._side = self._side, None
            await asyncio.shield(side.dispose())
        await asyncio.shield(self.engine.dispose())


class _SqliteWriter:
    """A synchronous engine on the same SQLite file (same pragmas, BEGIN IMMEDIATE) and the one thread
    that uses it, so its connections never change threads."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(make_url(url).set(drivername="sqlite"))
        _prepare_sqlite(self.engine, url)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

    async def run(self, work: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._transaction, work)

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        with self.engine.begin() as connection:
            return work(connection)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self.engine.dispose)
        self._thread.shutdown(wait=False)
