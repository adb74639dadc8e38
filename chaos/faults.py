"""Applies the plan's faults to the running system: kill -9 and restart a service, kill -9 the broker and
start it again on its data directory, stop the database for a while. Each is recorded with its moment,
so re-published events can be put down to the fault that caused them."""

import asyncio
import contextlib
import os
import signal
import time
from dataclasses import asdict, dataclass
from typing import Any

from chaos.plan import Fault
from chaos.stores import Stores
from chaos.webhooks import ProviderPool
from seevee_deploy.localkafka import LocalKafka
from seevee_deploy.stack import Stack

INGEST = "bounce-ingest"
IN_FLIGHT_WAIT = 30.0
"""How long a bounce-ingest kill waits for a webhook to be in flight before it kills anyway."""


@dataclass
class FaultRecord:
    number: int
    kind: str
    target: str
    at_ms: int
    in_flight: int
    back_after_s: float
    """Seconds from the fault until the target answered again (reported, never asserted)."""
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    def __init__(
        self, stack: Stack, kafka: LocalKafka, stores: Stores, pool: ProviderPool, db_stop_seconds: float
    ) -> None:
        self.stack = stack
        self.kafka = kafka
        self.stores = stores
        self.pool = pool
        self.db_stop_seconds = db_stop_seconds
        self.records: list[FaultRecord] = []

    async def apply(self, fault: Fault) -> FaultRecord:
        if fault.kind == "kill":
            record = await self._kill(fault.target)
        elif fault.kind == "broker":
            record = await self._kill_broker()
        else:
            record = await self._stop_database()
        self.records.append(record)
        return record

    def _start(self, kind: str, target: str) -> FaultRecord:
        """The record of a fault about to happen; ``_done`` fills in when its target answered again."""
        return FaultRecord(
            number=len(self.records) + 1,
            kind=kind,
            target=target,
            at_ms=int(time.time() * 1000),
            in_flight=self.pool.in_flight,
            back_after_s=time.monotonic(),
        )

    @staticmethod
    def _done(record: FaultRecord, note: str = "") -> FaultRecord:
        record.back_after_s = round(time.monotonic() - record.back_after_s, 2)
        record.note = note
        return record

    async def _kill(self, name: str) -> FaultRecord:
        if name == INGEST:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.pool.wait_for(lambda pool: pool.in_flight > 0), IN_FLIGHT_WAIT)
        record = self._start("kill -9", name)
        self.stack.kill(name, signal.SIGKILL)
        await self.stack.restart(name)
        return self._done(record)

    async def _kill_broker(self) -> FaultRecord:
        pid = self.kafka.pid
        if pid is None:
            raise RuntimeError("the broker is not running")
        record = self._start("kill -9", "kafka")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        await self.kafka.stop()
        await self.kafka.start()
        return self._done(record, "restarted on its data directory")

    async def _stop_database(self) -> FaultRecord:
        record = self._start("db-stop", "database")
        return self._done(record, await self.stores.hold(self.db_stop_seconds))
