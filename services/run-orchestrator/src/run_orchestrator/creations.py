"""New runs from concurrent `POST /v1/runs` requests, written together: group commit.

Each request hands its run over and waits; one writer takes every run handed over meanwhile and writes
them in one transaction, one statement per table, then answers them all. A request is answered only
after its run is committed, as with a transaction of its own, but concurrent requests share one write
lock, one BEGIN and one COMMIT instead of queueing on the store's write lock one by one. The
transaction runs off the event loop (``Database.run_transaction``), so the requests that arrive while
it commits are parsed meanwhile and make up the next group.
"""

from __future__ import annotations

import asyncio
from functools import partial

from run_orchestrator.domain import StoredRun
from run_orchestrator.store import insert_runs
from seevee_shared.db import Database


class Creations:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[tuple[StoredRun, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def create(self, stored: StoredRun) -> None:
        """Return once the run is committed; raise what the write raised if it failed."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((stored, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending())
        await asyncio.shield(done)

    async def _write_pending(self) -> None:
        await asyncio.sleep(0)  # the requests parsed in this turn of the loop join the first group
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._db.run_transaction(partial(insert_runs, runs=[stored for stored, _ in batch]))
            except BaseException as exc:  # every run of the batch failed alike: each request reports it
                failure = exc if isinstance(exc, Exception) else RuntimeError("the service is stopping")
                for _, done in batch:
                    done.set_exception(failure)
                if failure is not exc:
                    raise
            else:
                for _, done in batch:
                    done.set_result(None)
