"""The reactions applied to a real store (SQLite; PostgreSQL when marked), DNS asked on loopback."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from refund_service.app import MIGRATIONS_DIR
from refund_service.domain.spike import HardBounce, RevealSeen, count_window
from refund_service.handlers import handlers
from refund_service.models import RefundBounce, RefundEmployerSpike, RefundRecord, RefundReveal
from refund_service.settings import RefundSettings
from refund_service.store import RefundStore
from seevee_deploy.localpostgres import fresh_database
from seevee_shared.bus import Handlers
from seevee_shared.bus.consumer import EventConsumer
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.cloudevents import CloudEvent, decode
from seevee_shared.db import Database
from seevee_shared.events import ContactRevealed, MessageBounced, Topic
from seevee_shared.store import SqlRows
from seevee_shared.testing import polled

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # spike periods start on 2026-11-19 and 2026-11-26


Deployed = tuple[Database, Handlers[RefundStore]]
"""A migrated database and the handlers bound to the loopback DNS server."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, dns_server: tuple[str, Any]
) -> AsyncIterator[Deployed]:
    """A migrated store on each backend, with the handlers bound to the loopback DNS server."""
    address, _ = dns_server
    if request.param == "postgres":
        url = await fresh_database(request.getfixturevalue("postgres_server_url"))
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/refunds.db"
    settings = RefundSettings(
        database_url=url,
        dns_nameserver=address,
        dns_timeout_seconds=0.3,
    )
    db = Database(settings.database_url)
    await db.upgrade(MIGRATIONS_DIR)
    yield db, handlers(settings)
    await db.dispose()


def reveal(
    contact_id: str,
    email: str,
    first: str = "John",
    last: str = "Smith",
    at: datetime = T0,
    employer: str = "alive.example-test",
    workspace: str = "ws-1",
) -> CloudEvent:
    data = ContactRevealed(
        reveal_id=f"r-{contact_id}-{email}",
        contact_id=contact_id,
        email=email,
        first_name=first,
        last_name=last,
        employer_domain=employer,
        credits=3,
        recommended=False,
        revealed_at=at,
    )
    return CloudEvent.build(data, source="/seevee/reveals", workspace_id=workspace, subject=contact_id)


def bounce(
    contact_id: str,
    recipient: str,
    category: str = "mailbox_unknown",
    reason: str = "userunknown",
    at: datetime = T0 + timedelta(days=1),
    workspace: str = "ws-1",
) -> CloudEvent:
    data = MessageBounced.model_validate(
        {
            "bounce_id": str(uuid.uuid4()),
            "message_id": "m-1",
            "thread_id": "t-1",
            "contact_id": contact_id,
            "recipient": recipient,
            "category": category,
            "reason": reason,
            "permanent": category == "mailbox_unknown",
            "provider": "sendgrid",
            "provider_event_id": str(uuid.uuid4()),
            "matched_by": "message_id",
            "bounced_at": at,
        }
    )
    return CloudEvent.build(data, source="/seevee/bounce-ingest", workspace_id=workspace, subject=contact_id)


async def apply(store: Deployed, *events: CloudEvent) -> None:
    """Each event delivered on its own, as a group of its own: the handlers themselves absorb replays."""
    db, registered = store
    for event in events:
        consumer = EventConsumer(group=f"deliver-{uuid.uuid4().hex}", db=db, handlers=registered)
        await consumer.apply(polled([event]))


async def refunds(db: Database) -> list[RefundRecord]:
    async with db.transaction() as session:
        return list((await session.exec(select(RefundRecord))).all())


async def outbox(db: Database, topic: str) -> list[CloudEvent]:
    async with db.transaction() as session:
        rows = (await session.exec(select(OutboxRecord).where(OutboxRecord.topic == topic))).all()
    return [decode(row.payload) for row in rows]


@pytest.mark.parametrize(
    ("email", "category", "reason", "status", "basis"),
    [
        (
            "john.smith@alive.example-test",
            "mailbox_unknown",
            "userunknown",
            "needs_review",
            "mailbox_unknown",
        ),
        ("jane.doe@alive.example-test", "mailbox_unknown", "userunknown", "eligible", "name_mismatch"),
        ("john.smith@nullmx.example-test", "mailbox_unknown", "userunknown", "eligible", "dead_domain"),
        ("john.smith@gone.example-test", "mailbox_unknown", "userunknown", "eligible", "dead_domain"),
        (
            "john.smith@broken.example-test",
            "mailbox_unknown",
            "userunknown",
            "needs_review",
            "mailbox_unknown",
        ),
        ("john.smith@alive.example-test", "mailbox_unknown", "hostunknown", "eligible", "dead_domain"),
        ("john.smith@alive.example-test", "temporary", "mailboxfull", "ineligible", "temporary"),
        ("jane.doe@gone.example-test", "spam_policy", "blocked", "ineligible", "spam_policy"),
    ],
)
async def test_a_bounce_of_a_revealed_address_records_its_refund(
    store: Deployed,
    email: str,
    category: str,
    reason: str,
    status: str,
    basis: str,
) -> None:
    db, _ = store
    await apply(store, reveal("c-1", email), bounce("c-1", email.upper(), category, reason))
    [record] = await refunds(db)
    assert (record.status, record.basis, record.credits, record.email) == (status, basis, 3, email)
    [event] = await outbox(db, Topic.REFUND_ELIGIBILITY_RECORDED)
    assert event.data["refund_id"] == record.refund_id
    assert (event.data["status"], event.data["basis"]) == (status, basis)
    assert event.workspaceid == "ws-1" and event.subject == "c-1"


async def test_a_bounce_that_arrives_before_its_reveal_is_applied_when_the_reveal_comes(
    store: Deployed,
) -> None:
    db, _ = store
    await apply(store, bounce("c-1", "jane.doe@alive.example-test"))
    assert await refunds(db) == []
    await apply(store, reveal("c-1", "jane.doe@alive.example-test"))
    [record] = await refunds(db)
    assert (record.status, record.basis) == ("eligible", "name_mismatch")


async def test_only_the_reveal_of_the_bounced_address_and_workspace_is_touched(
    store: Deployed,
) -> None:
    db, _ = store
    await apply(
        store,
        reveal("c-1", "john.smith@alive.example-test"),
        bounce("c-1", "other@alive.example-test"),
        bounce("c-1", "john.smith@alive.example-test", workspace="ws-2"),
        bounce("c-2", "john.smith@alive.example-test"),
    )
    assert await refunds(db) == []


async def test_a_late_bounce_is_outside_the_window(store: Deployed) -> None:
    db, _ = store
    email = "jane.doe@alive.example-test"
    await apply(store, reveal("c-1", email), bounce("c-1", email, at=T0 + timedelta(days=31)))
    [record] = await refunds(db)
    assert (record.status, record.basis) == ("ineligible", "outside_window")


async def test_the_strongest_basis_is_kept_and_each_change_announced_once(
    store: Deployed,
) -> None:
    db, _ = store
    email = "john.smith@alive.example-test"
    await apply(
        store,
        reveal("c-1", email),
        bounce("c-1", email, "temporary", "mailboxfull"),
        bounce("c-1", email, "mailbox_unknown", "userunknown"),
        bounce("c-1", email, "spam_policy", "blocked"),
        bounce("c-1", email, "mailbox_unknown", "hostunknown"),
        bounce("c-1", email, "mailbox_unknown", "userunknown"),
    )
    [record] = await refunds(db)
    assert (record.status, record.basis) == ("eligible", "dead_domain")
    events = await outbox(db, Topic.REFUND_ELIGIBILITY_RECORDED)
    assert [event.data["basis"] for event in events] == ["temporary", "mailbox_unknown", "dead_domain"]
    assert len({event.data["refund_id"] for event in events}) == 1


async def test_a_replayed_bounce_changes_nothing(store: Deployed) -> None:
    db, _ = store
    email = "john.smith@alive.example-test"
    hard = bounce("c-1", email)
    replay = hard.model_copy(update={"id": str(uuid.uuid4())})
    await apply(store, reveal("c-1", email), hard, replay, reveal("c-1", email))
    assert len(await refunds(db)) == 1
    assert len(await outbox(db, Topic.REFUND_ELIGIBILITY_RECORDED)) == 1
    async with db.transaction() as session:
        assert len((await session.exec(select(RefundBounce))).all()) == 1


async def test_a_settled_refund_is_not_moved_by_later_bounces(
    store: Deployed,
) -> None:
    db, _ = store
    email = "john.smith@alive.example-test"
    await apply(store, reveal("c-1", email), bounce("c-1", email))
    async with db.transaction() as session:
        record = (await session.exec(select(RefundRecord))).one()
        record.status = "requested"
        session.add(record)
    await apply(store, bounce("c-1", email, reason="hostunknown"))
    [record] = await refunds(db)
    assert (record.status, record.basis) == ("requested", "mailbox_unknown")
    assert len(await outbox(db, Topic.REFUND_ELIGIBILITY_RECORDED)) == 1


async def test_an_employer_spike_is_emitted_once_per_period(
    store: Deployed,
) -> None:
    db, _ = store
    employer = "acme.example-test"
    contacts = [f"c-{n}" for n in range(10)]
    for contact in contacts:
        await apply(
            store, reveal(contact, f"{contact}@{employer}", employer=employer, at=T0 + timedelta(days=17))
        )
    for n, contact in enumerate(contacts[:4]):
        await apply(store, bounce(contact, f"{contact}@{employer}", at=T0 + timedelta(days=18, hours=n)))
    assert await outbox(db, Topic.EMPLOYER_BOUNCE_SPIKE) == []  # 4 people: not yet
    for n, contact in enumerate(contacts[4:7]):
        await apply(store, bounce(contact, f"{contact}@{employer}", at=T0 + timedelta(days=19, hours=n)))
    [spike] = await outbox(db, Topic.EMPLOYER_BOUNCE_SPIKE)
    assert spike.subject == employer
    assert {
        key: spike.data[key] for key in ("employer_domain", "window_days", "distinct_contacts", "reveals")
    } == {
        "employer_domain": employer,
        "window_days": 7,
        "distinct_contacts": 5,
        "reveals": 10,
    }
    assert spike.data["rate"] == 0.5
    # the next period (from 2026-11-26) may flag it again, once
    for n, contact in enumerate(contacts[:6]):
        await apply(store, bounce(contact, f"{contact}@{employer}", at=T0 + timedelta(days=24, hours=n)))
    spikes = await outbox(db, Topic.EMPLOYER_BOUNCE_SPIKE)
    assert len(spikes) == 2
    async with db.transaction() as session:
        periods = (await session.exec(select(RefundEmployerSpike.period_start))).all()
    assert sorted(periods) == [datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)]


async def test_no_spike_when_the_rate_is_low(store: Deployed) -> None:
    db, _ = store
    employer = "big.example-test"
    contacts = [f"c-{n}" for n in range(30)]
    for contact in contacts:
        await apply(store, reveal(contact, f"{contact}@{employer}", employer=employer, at=T0))
    for contact in contacts[:5]:
        await apply(store, bounce(contact, f"{contact}@{employer}", at=T0 + timedelta(days=1)))
    assert await outbox(db, Topic.EMPLOYER_BOUNCE_SPIKE) == []  # 5 of 30 is under 0.2
    await apply(store, bounce(contacts[5], f"{contacts[5]}@{employer}", at=T0 + timedelta(days=1)))
    assert len(await outbox(db, Topic.EMPLOYER_BOUNCE_SPIKE)) == 1  # 6 of 30


async def test_without_dns_checks_no_domain_is_dead_by_dns(tmp_path: Path) -> None:
    settings = RefundSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/refunds.db", dns_check_enabled=False
    )
    db = Database(settings.database_url)
    await db.upgrade(MIGRATIONS_DIR)
    try:
        email = "john.smith@gone.example-test"
        await apply((db, handlers(settings)), reveal("c-1", email), bounce("c-1", email))
        [record] = await refunds(db)
        assert (record.status, record.basis) == ("needs_review", "mailbox_unknown")
    finally:
        await db.dispose()


async def test_a_late_bounce_completes_the_window_of_a_later_one(
    store: Deployed,
) -> None:
    db, _ = store
    employer = "late.example-test"
    contacts = [f"c-{n}" for n in range(5)]
    for contact in contacts:
        await apply(
            store, reveal(contact, f"{contact}@{employer}", employer=employer, at=T0 + timedelta(days=17))
        )
    bounced_at = {contact: T0 + timedelta(days=18, minutes=n) for n, contact in enumerate(contacts)}
    for contact in [*contacts[:1], *contacts[2:]]:
        await apply(store, bounce(contact, f"{contact}@{employer}", at=bounced_at[contact]))
    assert await outbox(db, Topic.EMPLOYER_BOUNCE_SPIKE) == []  # 4 people in every window so far
    await apply(store, bounce(contacts[1], f"{contacts[1]}@{employer}", at=bounced_at[contacts[1]]))
    [spike] = await outbox(db, Topic.EMPLOYER_BOUNCE_SPIKE)  # the window ending at the last bounce
    assert (spike.data["distinct_contacts"], spike.data["hard_bounces"], spike.data["reveals"]) == (5, 5, 5)


async def test_the_store_counts_a_window_as_the_rule_does(
    store: Deployed,
) -> None:
    """The store loads an employer's rows for the rule as a query of the stored rows finds them."""
    db, _ = store
    employer = "counted.example-test"
    start = T0 + timedelta(days=10)
    events: list[CloudEvent] = []
    for n in range(12):
        contact = f"c-{n % 9}"  # contacts 0..2 are revealed twice, under two addresses
        email = f"{contact}.{n}@{employer}"
        events.append(reveal(contact, email, employer=employer, at=start + timedelta(days=n - 4)))
        if n % 3 != 2:
            events.append(bounce(contact, email, at=start + timedelta(days=n // 2, hours=n)))
        if n % 4 == 0:
            events.append(bounce(contact, email, category="temporary", reason="mailboxfull"))
    events.append(bounce("c-0", f"c-0.0@{employer}", at=start + timedelta(days=1, hours=5)))  # a second one
    events.append(bounce("c-x", f"c-x@{employer}", at=start))  # never revealed: not the employer's
    events.append(reveal("c-y", f"c-y@{employer}", employer=employer, at=start, workspace="ws-2"))
    events.append(bounce("c-y", f"c-y@{employer}", at=start, workspace="ws-2"))
    await apply(store, *events)
    async with db.transaction() as session:
        stored = (await session.exec(select(RefundBounce).where(RefundBounce.workspace_id == "ws-1"))).all()
        reveals = (await session.exec(select(RefundReveal).where(RefundReveal.workspace_id == "ws-1"))).all()
        hard = [
            HardBounce(row.bounce_id, row.reveal_id, row.contact_id, row.bounced_at)
            for row in stored
            if row.category == "mailbox_unknown" and row.reveal_id and row.employer_domain == employer
        ]
        seen = [RevealSeen(row.reveal_id, row.revealed_at) for row in reveals]
        ends = [row.bounced_at for row in hard] + [start + timedelta(days=day) for day in range(-6, 14)]
        for end in ends:
            for days in (1, 7):
                counted = await RefundStore(SqlRows(await session.connection())).employer_window(
                    "ws-1", employer, end, days
                )
                assert counted == count_window(hard, seen, end, days), (end, days)
