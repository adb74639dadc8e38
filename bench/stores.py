"""Where a figure's stores live: SQLite files in the run's folder, or databases on one PostgreSQL server.

A figure asks for an empty store or a copy of a template by name and gets a database URL; the
service under test and its anchor always get the same kind, so a ratio compares like with like.
A PostgreSQL copy is ``CREATE DATABASE ... TEMPLATE``, a file copy's counterpart: it costs nothing
inside the clock.
"""

import asyncio
import shutil
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


class Stores(Protocol):
    kind: str
    """``sqlite`` or ``postgres``: the suffix of the figures taken on these stores."""

    async def empty(self, name: str) -> str:
        """The URL of a new, empty store called ``name`` (any earlier one of that name is dropped)."""
        ...

    async def copy(self, template: str, name: str) -> str:
        """The URL of a new store holding what the store ``template`` (a URL of ``empty``) holds."""
        ...


class SqliteStores:
    kind = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.db"

    async def empty(self, name: str) -> str:
        path = self._path(name)
        for leftover in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
            await asyncio.to_thread(leftover.unlink, missing_ok=True)
        return f"sqlite+aiosqlite:///{path}"

    async def copy(self, template: str, name: str) -> str:
        url = await self.empty(name)
        source = make_url(template).database
        assert source is not None
        await asyncio.to_thread(shutil.copyfile, source, self._path(name))
        return url


class PostgresStores:
    kind = "postgres"

    def __init__(self, server_url: str, prefix: str) -> None:
        self.server_url = server_url
        self.prefix = prefix

    def _url(self, name: str) -> str:
        database = f"{self.prefix}_{name}".replace("-", "_").lower()
        return make_url(self.server_url).set(database=database).render_as_string(hide_password=False)

    async def _admin(self, *statements: str) -> None:
        engine = create_async_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                for statement in statements:
                    await connection.execute(text(statement))
        finally:
            await engine.dispose()

    async def empty(self, name: str) -> str:
        url = self._url(name)
        database = make_url(url).database
        await self._admin(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"'
        )
        return url

    async def copy(self, template: str, name: str) -> str:
        url = self._url(name)
        database, source = make_url(url).database, make_url(template).database
        await self._admin(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)',
            f'CREATE DATABASE "{database}" TEMPLATE "{source}"',
        )
        return url
