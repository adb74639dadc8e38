"""The five services' stores for one run: SQLite files (default) or databases on a throwaway PostgreSQL.

Also the store-side facts the census needs (outbox rows still unpublished) and the database fault: for
PostgreSQL every server process is SIGSTOPped (connections hang, as on a frozen host); for SQLite each
file is held under an exclusive lock (writers wait on their busy timeout, then fail and retry).
"""

import asyncio
import contextlib
import os
import signal
import sqlite3
from pathlib import Path
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from seevee_deploy.localpostgres import LocalPostgres, fresh_database, postgres_bin_dir
from seevee_deploy.service_plan import SERVICES, sqlite_url

StoreKind = Literal["sqlite", "postgres"]


class Stores:
    def __init__(self, kind: StoreKind, var_dir: Path) -> None:
        self.kind = kind
        self.var_dir = var_dir
        self.urls: dict[str, str] = {}
        self._postgres: LocalPostgres | None = None

    async def start(self) -> None:
        if self.kind == "sqlite":
            self.urls = {spec.name: sqlite_url(self.var_dir, spec) for spec in SERVICES}
            return
        bin_dir = postgres_bin_dir()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self._postgres = await asyncio.to_thread(LocalPostgres(bin_dir).start)
        for spec in SERVICES:
            self.urls[spec.name] = await fresh_database(self._postgres.url)

    async def stop(self) -> None:
        if self._postgres is not None:
            self.resume_postgres()
            await asyncio.to_thread(self._postgres.stop)
            self._postgres = None

    def environment(self) -> dict[str, str]:
        """``INGEST_DATABASE_URL`` and the others, as the services read them."""
        return {spec.database_env: self.urls[spec.name] for spec in SERVICES}

    async def unpublished_outbox(self) -> dict[str, int]:
        """Outbox rows each store still holds unpublished (0 everywhere once the relays caught up)."""
        return await self._count("SELECT count(*) FROM outbox WHERE published_at IS NULL")

    async def outbox_dead_letters(self) -> dict[str, int]:
        """Rows a relay moved aside because the broker could never take them (none may be)."""
        return await self._count("SELECT count(*) FROM outbox_dead_letter")

    async def _count(self, query: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name, url in self.urls.items():
            engine = create_async_engine(url)
            try:
                async with engine.connect() as connection:
                    counts[name] = int((await connection.execute(text(query))).scalar_one())
            finally:
                await engine.dispose()
        return counts

    async def hold(self, seconds: float) -> str:
        """The database fault; returns what was done, for the table."""
        if self._postgres is not None:
            pids = self._server_pids()
            self._signal(pids, signal.SIGSTOP)
            try:
                await asyncio.sleep(seconds)
            finally:
                self._signal(pids, signal.SIGCONT)
            return f"SIGSTOP of {len(pids)} PostgreSQL processes for {seconds:.0f}s"
        files = [Path(make_url(url).database or "") for url in self.urls.values()]
        locks = await asyncio.to_thread(_lock_exclusively, files)
        try:
            await asyncio.sleep(seconds)
        finally:
            await asyncio.to_thread(_release, locks)
        return f"exclusive lock on {len(locks)} SQLite files for {seconds:.0f}s"

    def resume_postgres(self) -> None:
        if self._postgres is not None:
            self._signal(self._server_pids(), signal.SIGCONT)

    def _server_pids(self) -> list[int]:
        assert self._postgres is not None
        main = self._postgres.postmaster_pid
        if main is None:
            return []
        return [main, *_children_of(main)]

    @staticmethod
    def _signal(pids: list[int], sig: int) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def _children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def _lock_exclusively(files: list[Path]) -> list[sqlite3.Connection]:
    """An open ``BEGIN EXCLUSIVE`` on each file (waits for a writer already inside to finish). The
    connections are released from another worker thread than the one that opened them (one at a time)."""
    locks = []
    for path in files:
        connection = sqlite3.connect(path, timeout=120, isolation_level=None, check_same_thread=False)
        connection.execute("BEGIN EXCLUSIVE")
        locks.append(connection)
    return locks


def _release(locks: list[sqlite3.Connection]) -> None:
    for connection in locks:
        connection.execute("ROLLBACK")
        connection.close()
