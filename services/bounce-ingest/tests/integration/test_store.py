"""Handlers against a real SQLite store (no broker): what is stored and what lands in the outbox."""

from collections.abc import AsyncIterator, Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import orjson
import pytest
from sqlalchemy import Table
from sqlmodel import select

from bounce_ingest.app import MIGRATIONS
from bounce_ingest.domain import record_id
from bounce_ingest.handlers import handlers
from bounce_ingest.models import IngestBounce, IngestComplaint, IngestSentMessage
from bounce_ingest.record_bounces import record_delivery, store_delivery
from bounce_ingest.records import ParsedRequest, ProviderRecord
from bounce_ingest.release_unmatched import release_due
from bounce_ingest.replay_tokens import StoredReplayGuard
from bounce_ingest.store import IngestStore
from seevee_shared.bus import EventConsumer, Handlers, OutboxRecord
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import MessageSent
from seevee_shared.store import Rows, SqlRows, table_of
from seevee_shared.testing import polled
from seevee_shared.testing.polls import PollSuite, State

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
WAIT = timedelta(minutes=15)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, migrated store on each backend."""
    url = f"sqlite+aiosqlite:///{tmp_path}/ingest.db"
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    await database.upgrade(MIGRATIONS)
    yield database
    await database.dispose()


def _sent(message_id: str, recipient: str, workspace: str = "ws-1", **fields: object) -> CloudEvent:
    data = MessageSent.model_validate(
        {
            "message_id": message_id,
            "thread_id": f"thread-{message_id}",
            "contact_id": f"contact-{message_id}",
            "run_id": "run-1",
            "run_step": 2,
            "recipient": recipient,
            "sender_mailbox": "sam@seevee.test",
            "provider": "sendgrid",
            "provider_message_id": f"pm-{message_id}",
            "smtp_message_id": f"<{message_id}@seevee.test>",
            "sent_at": NOW - timedelta(hours=1),
        }
        | fields
    )
    return CloudEvent.build(data, source="/seevee/sender", workspace_id=workspace, subject=data.contact_id)


def _bounce(event_id: str, recipient: str, **fields: object) -> ProviderRecord:
    values: dict[str, object] = {
        "kind": "bounce",
        "provider": "sendgrid",
        "provider_event_id": event_id,
        "recipient": recipient,
        "occurred_at": NOW,
        "category": "mailbox_unknown",
        "reason": "userunknown",
        "permanent": True,
        "smtp_status": "5.1.1",
        "smtp_code": 550,
    } | fields
    return ProviderRecord(**values)  # type: ignore[arg-type]


async def _outbox(db: Database) -> list[tuple[str, dict[str, object]]]:
    async with db.transaction() as session:
        rows = (await session.exec(select(OutboxRecord).order_by(OutboxRecord.seq))).all()  # type: ignore[arg-type]
    return [(row.topic, orjson.loads(row.payload)) for row in rows]


async def _deliver(db: Database, *records: ProviderRecord, now: datetime = NOW) -> tuple[int, int, int]:
    counts = await store_delivery(db, ParsedRequest(records=list(records), ignored={"open": 2}), now)
    return counts.accepted, counts.duplicates, counts.ignored


async def _release(db: Database, now: datetime) -> int:
    """One sweep, in its own transaction, as ``sweep_unmatched`` runs it."""
    async with db.transaction() as session:
        store = IngestStore(SqlRows(await session.connection()))
        settled = await release_due(store, now, WAIT)
        await store.write()
    return settled


async def _receive(db: Database, *events: CloudEvent) -> None:
    """One poll of ``message.sent`` through the service's consumer."""
    await EventConsumer(group="bounce-ingest", db=db, handlers=handlers()).apply(polled(list(events)))


@pytest.mark.parametrize(
    ("fields", "matched_by"),
    [
        ({"seevee_message_id": "m-1"}, "message_id"),
        ({"provider_message_id": "pm-m-1.filter0001.16648.5515E0B88.0"}, "provider_message_id"),
        ({"smtp_message_id": "m-1@seevee.test"}, "smtp_message_id"),
        ({}, "recipient"),
    ],
)
async def test_a_known_message_publishes_at_once(
    db: Database, fields: dict[str, str], matched_by: str
) -> None:
    await _receive(db, _sent("m-1", "Jane@Acme.com"))
    assert await _deliver(db, _bounce("ev-1", "jane@acme.com", **fields)) == (1, 0, 2)

    [(topic, event)] = await _outbox(db)
    assert topic == "message.bounced"
    assert event["id"] == event["data"]["bounce_id"] == record_id(_bounce("ev-1", "jane@acme.com"))
    assert event["workspaceid"] == "ws-1"
    assert event["subject"] == "contact-m-1"
    assert event["data"]["matched_by"] == matched_by
    assert event["data"]["run_step"] == 2


async def test_a_redelivery_changes_nothing(db: Database) -> None:
    await _receive(db, _sent("m-1", "jane@acme.com"))
    first = _bounce("ev-1", "jane@acme.com", seevee_message_id="m-1")
    assert await _deliver(db, first, first) == (1, 1, 2)
    assert await _deliver(db, first) == (0, 1, 2)
    assert len(await _outbox(db)) == 1


async def test_recipient_alone_is_not_enough_when_ambiguous(db: Database) -> None:
    await _receive(db, _sent("m-1", "jane@acme.com", workspace="ws-1"))
    await _receive(db, _sent("m-2", "jane@acme.com", workspace="ws-2"))
    await _deliver(db, _bounce("ev-1", "jane@acme.com"))
    assert await _outbox(db) == []
    async with db.transaction() as session:
        row = await session.get(IngestBounce, record_id(_bounce("ev-1", "jane@acme.com")))
    assert row is not None and row.status == "pending"


async def test_a_bounce_before_its_message_waits_then_matches(db: Database) -> None:
    await _deliver(db, _bounce("ev-1", "jane@acme.com", seevee_message_id="m-9"))
    assert await _outbox(db) == []
    await _receive(db, _sent("m-9", "jane@acme.com", workspace="ws-7"))
    [(topic, event)] = await _outbox(db)
    assert (topic, event["workspaceid"], event["data"]["matched_by"]) == (
        "message.bounced",
        "ws-7",
        "message_id",
    )
    await _receive(db, _sent("m-9", "jane@acme.com", workspace="ws-7"))
    assert len(await _outbox(db)) == 1


async def test_after_the_wait_an_unknown_bounce_goes_out_unmatched(db: Database) -> None:
    await _deliver(db, _bounce("ev-1", "ghost@acme.com", provider_message_id="pm-x"))
    assert await _release(db, NOW + WAIT - timedelta(seconds=1)) == 0
    assert await _release(db, NOW + WAIT) == 1
    assert await _release(db, NOW + 2 * WAIT) == 0
    [(topic, event)] = await _outbox(db)
    assert topic == "bounce.unmatched"
    assert event["data"]["message_id"] is None and event["data"]["contact_id"] is None
    assert event["data"]["provider_message_id"] == "pm-x"
    assert event["id"] != event["data"]["bounce_id"]


async def test_a_message_that_shows_up_late_still_gets_its_bounce(db: Database) -> None:
    await _deliver(db, _bounce("ev-1", "jane@acme.com", seevee_message_id="m-1"))
    await _release(db, NOW + WAIT)
    await _receive(db, _sent("m-1", "jane@acme.com"))
    assert [topic for topic, _ in await _outbox(db)] == ["bounce.unmatched", "message.bounced"]


async def test_complaints_match_like_bounces(db: Database) -> None:
    complaint = ProviderRecord(
        kind="complaint",
        provider="sendgrid",
        provider_event_id="ev-c",
        recipient="jane@acme.com",
        occurred_at=NOW,
        feedback_type="abuse",
        seevee_message_id="m-1",
    )
    await _deliver(db, complaint)
    await _receive(db, _sent("m-1", "jane@acme.com"))
    [(topic, event)] = await _outbox(db)
    assert topic == "message.complained"
    assert event["data"]["feedback_type"] == "abuse"
    async with db.transaction() as session:
        row = await session.get(IngestComplaint, record_id(complaint))
    assert row is not None and row.status == "matched"


async def test_an_unclassified_record_is_classified_from_its_smtp_data(db: Database) -> None:
    unclassified = _bounce(
        "ev-1",
        "jane@acme.com",
        category=None,
        reason=None,
        smtp_status=None,
        smtp_code=None,
        diagnostic="mailbox full",
    )
    await _deliver(db, unclassified)
    async with db.transaction() as session:
        row = await session.get(IngestBounce, record_id(_bounce("ev-1", "jane@acme.com")))
    assert row is not None
    assert (row.category, row.reason, row.permanent) == ("temporary", "mailboxfull", False)


async def test_replay_guard_admits_a_token_only_with_its_own_body(db: Database) -> None:
    guard = StoredReplayGuard(db)
    expires = NOW + timedelta(minutes=10)
    assert await guard.admit("tok", "body-a", expires, NOW)
    assert await guard.admit("tok", "body-a", expires, NOW)
    assert not await guard.admit("tok", "body-b", expires, NOW)
    assert await guard.admit("tok", "body-b", NOW + timedelta(hours=1), expires)


@pytest.mark.parametrize(
    "sent_at",
    [NOW - timedelta(days=15), NOW + timedelta(days=1)],
    ids=["sent-before-the-window", "sent-after-the-bounce"],
)
@pytest.mark.parametrize("bounce_first", [True, False])
async def test_a_recipient_matches_only_within_the_window(
    db: Database, sent_at: datetime, bounce_first: bool
) -> None:
    if bounce_first:
        await _deliver(db, _bounce("ev-1", "jane@acme.com"))
    await _receive(db, _sent("m-1", "jane@acme.com", sent_at=sent_at))
    if not bounce_first:
        await _deliver(db, _bounce("ev-1", "jane@acme.com"))
    assert await _outbox(db) == []


async def test_a_workspace_report_never_touches_another_workspace(db: Database) -> None:
    await _receive(db, _sent("m-1", "jane@acme.com", workspace="ws-1"))
    scoped = ParsedRequest(records=[_bounce("ev-1", "jane@acme.com", seevee_message_id="m-1")])
    assert (await store_delivery(db, scoped, NOW, workspace_scope="ws-2")).accepted == 1
    await _receive(db, _sent("m-1", "jane@acme.com", workspace="ws-1"))
    assert await _outbox(db) == []
    await _release(db, NOW + WAIT)
    [(topic, event)] = await _outbox(db)
    assert (topic, event["workspaceid"]) == ("bounce.unmatched", "ws-2")


async def test_a_sendgrid_id_waiting_for_its_message_matches_the_id_returned_at_send(db: Database) -> None:
    await _deliver(
        db, _bounce("ev-1", "jane@acme.com", provider_message_id="pm-m_1.filter0001.16648.5515E0B88.0")
    )
    await _receive(db, _sent("m_1", "john@acme.com"))
    [(_, event)] = await _outbox(db)
    assert (event["data"]["message_id"], event["data"]["matched_by"]) == ("m_1", "provider_message_id")


async def test_a_mixed_delivery_matches_each_record_by_its_own_first_key(db: Database) -> None:
    """One delivery, correlated together: each record still follows the chain on its own."""
    for message_id, recipient in [("m-1", "a@acme.com"), ("m-2", "b@acme.com"), ("m-3", "c@acme.com")]:
        await _receive(db, _sent(message_id, recipient))
    await _receive(db, _sent("m-4", "d@acme.com", sent_at=NOW - timedelta(days=10)))
    await _receive(db, _sent("m-5", "shared@acme.com", workspace="ws-1"))
    await _receive(db, _sent("m-6", "shared@acme.com", workspace="ws-2"))
    complaint = ProviderRecord(
        kind="complaint",
        provider="sendgrid",
        provider_event_id="ev-c",
        recipient="c@acme.com",
        occurred_at=NOW,
        provider_message_id="pm-m-3",
    )
    records = [
        _bounce("ev-1", "a@acme.com", seevee_message_id="m-1", provider_message_id="pm-m-2"),
        _bounce("ev-2", "x@acme.com", seevee_message_id="unknown", provider_message_id="pm-m-2.filter7"),
        complaint,
        _bounce("ev-3", "y@acme.com", smtp_message_id="<m-3@seevee.test>"),
        _bounce("ev-4", "D@acme.com"),
        _bounce("ev-5", "d@acme.com", occurred_at=NOW + timedelta(days=5)),
        _bounce("ev-6", "shared@acme.com"),
        _bounce("ev-1", "a@acme.com", seevee_message_id="m-1"),
    ]
    assert await _deliver(db, *records) == (7, 1, 2)

    published = [
        (topic, data["message_id"], data.get("matched_by"))
        for topic, event in await _outbox(db)
        if isinstance(data := event["data"], dict)
    ]
    assert published == [
        ("message.bounced", "m-1", "message_id"),
        ("message.bounced", "m-2", "provider_message_id"),
        ("message.complained", "m-3", None),
        ("message.bounced", "m-3", "smtp_message_id"),
        ("message.bounced", "m-4", "recipient"),
    ]
    async with db.transaction() as session:
        waiting = (await session.exec(select(IngestBounce).where(IngestBounce.status == "pending"))).all()
    assert sorted(row.provider_event_id for row in waiting) == ["ev-5", "ev-6"]


async def test_a_message_sent_twice_in_one_poll_is_stored_once(db: Database) -> None:
    await _deliver(db, _bounce("ev-1", "jane@acme.com", seevee_message_id="m-2"))
    await _receive(db, *[_sent("m-1", "john@acme.com"), _sent("m-2", "jane@acme.com")] * 2)
    async with db.transaction() as session:
        stored = (await session.exec(select(IngestSentMessage.message_id))).all()
    assert sorted(stored) == ["m-1", "m-2"]
    [(topic, published)] = await _outbox(db)
    data = published["data"]
    assert topic == "message.bounced"
    assert isinstance(data, dict) and data["message_id"] == "m-2"


class TestPolls(PollSuite):
    """A poll of ``message.sent`` meeting waiting bounces and complaints by every key, with a message
    sent twice and one repeated across polls: the same rows and outbox however it is applied."""

    group = "bounce-ingest"
    migrations = MIGRATIONS
    tables: ClassVar[Mapping[Table, Collection[str]]] = {
        table_of(IngestSentMessage): (),
        table_of(IngestBounce): (),
        table_of(IngestComplaint): (),
    }

    def handlers(self) -> Handlers[IngestStore]:
        return handlers()

    async def seed(self, rows: Rows) -> None:
        complaint = ProviderRecord(
            kind="complaint",
            provider="sendgrid",
            provider_event_id="ev-c",
            recipient="c@acme.com",
            occurred_at=NOW,
            smtp_message_id="<m-3@seevee.test>",
        )
        records = [
            _bounce("ev-1", "a@acme.com", seevee_message_id="m-1"),
            _bounce("ev-2", "b@acme.com", provider_message_id="pm-m-2.filter0001.16648.5515E0B88.0"),
            complaint,
            _bounce("ev-4", "d@acme.com"),
            _bounce("ev-5", "nobody@acme.com", seevee_message_id="m-never"),
            _bounce("ev-0", "z@acme.com", seevee_message_id="m-0"),
        ]
        store = IngestStore(rows)
        await record_delivery(store, ParsedRequest(records), NOW)
        await store.write()

    def before(self) -> list[CloudEvent]:
        return [_sent("m-0", "zed@acme.com")]

    def poll(self) -> list[CloudEvent]:
        first = _sent("m-1", "x@acme.com")
        return [
            first,
            _sent("m-2", "y@acme.com", workspace="ws-2"),
            _sent("m-6", "nobody-else@acme.com"),
            _sent("m-3", "w@acme.com"),
            first,
            _sent("m-4", "d@acme.com"),
            _sent("m-0", "zed@acme.com"),
        ]

    def check(self, state: State) -> None:
        assert sorted(row[0] for row in state["ingest_sent_messages"]) == [
            "m-0",
            "m-1",
            "m-2",
            "m-3",
            "m-4",
            "m-6",
        ]
        statuses = {row[17]: row[2] for row in state["ingest_bounces"]}  # provider_event_id -> status
        assert statuses == {
            "ev-0": "matched",
            "ev-1": "matched",
            "ev-2": "matched",
            "ev-4": "matched",
            "ev-5": "pending",
        }
        assert [row[2] for row in state["ingest_complaints"]] == ["matched"]
        assert sorted(row[1] for row in state["outbox"]) == ["message.bounced"] * 4 + ["message.complained"]
