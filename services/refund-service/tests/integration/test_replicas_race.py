"""Two replicas of the refund-service on one PostgreSQL store, each handed one of a contact's events at
the same moment: a reveal and its bounce always meet, whichever replica commits first."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from refund_service.app import MIGRATIONS_DIR
from refund_service.handlers import handlers
from refund_service.settings import RefundSettings
from seevee_deploy.localpostgres import fresh_database
from seevee_shared.bus.consumer import EventConsumer
from seevee_shared.db import Database
from seevee_shared.testing import polled

from .test_handlers import bounce, refunds, reveal

pytestmark = pytest.mark.postgres

CONTACTS = 60


@pytest.fixture
async def replicas(request: pytest.FixtureRequest) -> AsyncIterator[tuple[EventConsumer, EventConsumer]]:
    """Two consumers of the one group, each with its own pool on the same database."""
    url = await fresh_database(request.getfixturevalue("postgres_server_url"))
    settings = RefundSettings(database_url=url, dns_check_enabled=False)
    first, second = Database(url), Database(url)
    await first.upgrade(MIGRATIONS_DIR)
    yield (
        EventConsumer(group="refund-service", db=first, handlers=handlers(settings)),
        EventConsumer(group="refund-service", db=second, handlers=handlers(settings)),
    )
    await first.dispose()
    await second.dispose()


async def test_a_reveal_and_its_bounce_on_two_replicas_at_once_make_one_record(
    replicas: tuple[EventConsumer, EventConsumer],
) -> None:
    one, other = replicas
    for n in range(CONTACTS):
        email = f"jane.doe{n}@gone.example-test"
        await asyncio.gather(
            one.apply(polled([reveal(f"c-{n}", email)])), other.apply(polled([bounce(f"c-{n}", email)]))
        )
    found: Any = await refunds(one.db)
    assert len(found) == CONTACTS
