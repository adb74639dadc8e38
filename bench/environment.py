"""What every figure shares: the one Kafka of the bench run, a scratch folder, clean topics."""

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from bench.stores import PostgresStores
from seevee_deploy.localkafka import create_topics
from seevee_shared.events import ALL_TOPICS


@dataclass(frozen=True)
class BenchEnv:
    bootstrap: str
    work_dir: Path
    postgres: str = ""
    """The URL of the run's PostgreSQL server, started only when a ``-postgres`` figure is taken."""

    def folder(self, name: str) -> Path:
        path = self.work_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def postgres_stores(self, figure: str) -> PostgresStores:
        if not self.postgres:
            raise RuntimeError("this figure needs the bench's PostgreSQL server, which was not started")
        return PostgresStores(self.postgres, f"bench_{figure}")


async def fresh_topics(bootstrap: str, extra: tuple[str, ...] = ()) -> None:
    """Delete and recreate the pipeline's topics, so a figure never reads another figure's records."""
    names = [*ALL_TOPICS, *extra]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [name for name in names if name in existing]
        if doomed:
            with contextlib.suppress(KafkaError):
                await admin.delete_topics(doomed)
        for _ in range(100):
            if not set(doomed) & set(await admin.list_topics()):
                break
            await asyncio.sleep(0.1)
    finally:
        await admin.close()
    for attempt in range(20):
        try:
            await create_topics(bootstrap, names)
            return
        except KafkaError:
            if attempt == 19:
                raise
            await asyncio.sleep(0.5)
