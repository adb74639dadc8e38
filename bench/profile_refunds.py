"""A profile of the refund-service's consumer, in-process, with pyinstrument.

``python -m bench.profile_refunds [N]``: N reveals of the bench's contacts (200 employers), then N hard
bounces of them applied in polls of 500 through the real ``EventConsumer`` on SQLite (no Kafka:
decoding, the poll's transaction, commit), as figure 3 feeds the service. Prints events per second of
wall time and per CPU second of the process (the steadier of the two on a shared machine), then the
profile.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from bench import scenario
from bench.profile_runs import POLL, _profiled
from refund_service.app import MIGRATIONS_DIR
from refund_service.handlers import handlers
from refund_service.settings import RefundSettings
from seevee_shared.bus import EventConsumer
from seevee_shared.db import Database
from seevee_shared.logging import configure_logging
from seevee_shared.testing import polled


async def consume(count: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="profile-refunds-"))
    people = scenario.contacts(scenario.unique_tag(), count + POLL)
    at = scenario.earlier(minutes=60)
    db = Database(f"sqlite+aiosqlite:///{folder}/refunds.db")
    await db.upgrade(MIGRATIONS_DIR)
    consumer = EventConsumer(
        group="profile", db=db, handlers=handlers(RefundSettings(dns_check_enabled=False))
    )
    reveals = [scenario.contact_revealed(contact, at) for contact in people]
    for start in range(0, len(reveals), POLL):
        await consumer.apply(polled(reveals[start : start + POLL]))
    bounces = [scenario.message_bounced(contact, None, at) for contact in people]
    await consumer.apply(polled(bounces[:POLL]))  # warm-up

    async def polls() -> None:
        for start in range(POLL, len(bounces), POLL):
            await consumer.apply(polled(bounces[start : start + POLL]))

    await _profiled("events", count, polls)
    await db.dispose()


def main() -> None:
    configure_logging("profile", "WARNING")
    asyncio.run(consume(int(sys.argv[1]) if len(sys.argv) > 1 else 6000))


if __name__ == "__main__":
    main()
