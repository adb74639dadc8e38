"""A poll's spike check reads the rows of its windows, not the employer's history (SQLite, PostgreSQL,
memory): the rows the store fetches for a poll are the same after 3 weeks of history as after 40."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from refund_service.app import MIGRATIONS_DIR
from refund_service.handlers import handlers
from refund_service.models import RefundEmployerSpike
from refund_service.settings import RefundSettings
from seevee_deploy.localpostgres import fresh_database
from seevee_shared.bus import apply_poll
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import ContactRevealed, MessageBounced
from seevee_shared.store import MemoryRows, Rows, SqlRows, table_of
from seevee_shared.testing.counting import CountingRows
from seevee_shared.testing.polls import events_of

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)  # in the period 2026-11-19 .. 2026-11-26
EMPLOYER = "history.example-test"
WEEK = timedelta(days=7)
REGISTRY = handlers(RefundSettings(dns_check_enabled=False))
SPIKE_TABLES = ("refund_bounce", "refund_reveal", "refund_employer_spike")


def revealed(contact: str, at: datetime) -> CloudEvent:
    data = ContactRevealed(
        reveal_id=f"r-{contact}",
        contact_id=contact,
        email=f"jane.doe.{contact}@{EMPLOYER}",
        first_name="Jane",
        last_name="Doe",
        employer_domain=EMPLOYER,
        credits=1,
        recommended=False,
        revealed_at=at,
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id="ws-1", subject=contact)


def bounced(contact: str, at: datetime) -> CloudEvent:
    data = MessageBounced(
        bounce_id=f"b-{contact}",
        message_id=f"m-{contact}",
        thread_id=f"t-{contact}",
        contact_id=contact,
        recipient=f"jane.doe.{contact}@{EMPLOYER}",
        category="mailbox_unknown",
        reason="userunknown",
        permanent=True,
        provider="sendgrid",
        provider_event_id=f"p-{contact}",
        matched_by="message_id",
        bounced_at=at,
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id="ws-1", subject=contact)


def history(weeks: int) -> list[CloudEvent]:
    """Six contacts revealed and hard-bounced in each of ``weeks`` past weeks (each week a spike), all
    before the window of a bounce at T0; then four of this week, and the reveal of a fifth."""
    events: list[CloudEvent] = []
    for week in range(2, weeks + 2):
        at = T0 - week * WEEK
        for n in range(6):
            events += [revealed(f"old-{week}-{n}", at - timedelta(days=1)), bounced(f"old-{week}-{n}", at)]
    for n in range(1, 5):
        events += [revealed(f"now-{n}", T0 - timedelta(days=2)), bounced(f"now-{n}", T0 - timedelta(days=1))]
    return [*events, revealed("now-5", T0 - timedelta(days=2))]


class OneStore:
    """A store of the backend under test; ``rows()`` opens a transaction on it (memory: the same dicts)."""

    def __init__(self, db: Database | None) -> None:
        self.db = db
        self.memory = MemoryRows()

    @asynccontextmanager
    async def rows(self) -> AsyncIterator[Rows]:
        if self.db is None:
            yield self.memory
            return
        async with self.db.transaction() as session:
            yield SqlRows(await session.connection())


NewStore = Callable[[str], Awaitable[OneStore]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "memory"])
async def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[NewStore]:
    databases: list[Database] = []

    async def new(name: str) -> OneStore:
        if request.param == "memory":
            return OneStore(None)
        if request.param == "postgres":
            url = await fresh_database(request.getfixturevalue("postgres_server"))
        else:
            url = f"sqlite+aiosqlite:///{tmp_path}/{name}.db"
        db = Database(url)
        databases.append(db)
        await db.upgrade(MIGRATIONS_DIR)
        return OneStore(db)

    yield new
    for db in databases:
        await db.dispose()


async def fetched_by_the_poll(store: OneStore, weeks: int) -> tuple[dict[str, int], int]:
    """Rows per table the poll's loads fetched, and the spikes flagged after it."""
    async with store.rows() as rows:
        await apply_poll(REGISTRY, rows, "refund-service", events_of(REGISTRY, history(weeks)))
    async with store.rows() as rows:
        counting = CountingRows(rows)
        await apply_poll(REGISTRY, counting, "refund-service", events_of(REGISTRY, [bounced("now-5", T0)]))
    async with store.rows() as rows:
        spikes = await rows.fetch(table_of(RefundEmployerSpike), {})
    return {table: counting.fetched[table] for table in SPIKE_TABLES}, len(spikes)


async def test_the_rows_a_poll_fetches_do_not_grow_with_the_employers_history(new_store: NewStore) -> None:
    short, short_spikes = await fetched_by_the_poll(await new_store("short"), weeks=3)
    long, long_spikes = await fetched_by_the_poll(await new_store("long"), weeks=40)
    assert (short_spikes, long_spikes) == (3 + 1, 40 + 1)  # each past week's, and this poll's
    assert long == short
    # this week's 5 reveals and 4 earlier hard bounces (plus the address's own rows), no older row
    assert long["refund_reveal"] <= 5 + 1
    assert long["refund_bounce"] <= 4 + 1
    assert long["refund_employer_spike"] == 0
