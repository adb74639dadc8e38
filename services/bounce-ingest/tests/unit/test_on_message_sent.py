"""The ``message.sent`` handler on the in-memory store: waiting bounces and complaints meet their
message, without a database (the same store code as on SQL, over ``MemoryRows``)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bounce_ingest.domain import record_id
from bounce_ingest.handlers import handlers
from bounce_ingest.models import IngestBounce, IngestComplaint, IngestSentMessage
from bounce_ingest.record_bounces import record_delivery
from bounce_ingest.records import ParsedRequest, ProviderRecord
from bounce_ingest.release_unmatched import release_due
from bounce_ingest.store import IngestStore
from seevee_shared.bus.seam import apply_poll
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageSent
from seevee_shared.store import MemoryRows, table_of
from seevee_shared.store.base import OUTBOX
from seevee_shared.testing.polls import events_of

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
WAIT = timedelta(minutes=15)


def sent(
    message_id: str, recipient: str = "jane@acme.com", workspace: str = "ws-1", **fields: Any
) -> CloudEvent:
    data = MessageSent.model_validate(
        {
            "message_id": message_id,
            "thread_id": f"thread-{message_id}",
            "contact_id": f"contact-{message_id}",
            "run_id": "run-1",
            "run_step": 1,
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


def record(
    event_id: str, kind: str = "bounce", recipient: str = "jane@acme.com", **fields: Any
) -> ProviderRecord:
    values: dict[str, Any] = {
        "kind": kind,
        "provider": "sendgrid",
        "provider_event_id": event_id,
        "recipient": recipient,
        "occurred_at": NOW,
    }
    if kind == "bounce":
        values |= {
            "category": "mailbox_unknown",
            "reason": "userunknown",
            "permanent": True,
            "smtp_code": 550,
        }
    return ProviderRecord(**(values | fields))


async def deliver(rows: MemoryRows, *records: ProviderRecord) -> None:
    store = IngestStore(rows)
    await record_delivery(store, ParsedRequest(records=list(records)), NOW)
    await store.write()


async def receive(rows: MemoryRows, *events: CloudEvent) -> None:
    ours = handlers()
    await apply_poll(ours, rows, "bounce-ingest", events_of(ours, list(events)))


def outbox(rows: MemoryRows) -> list[tuple[str, dict[str, Any]]]:
    return [(row["topic"], orjson.loads(row["payload"])) for row in rows.rows(OUTBOX)]


def status(rows: MemoryRows, model: Any) -> dict[str, str]:
    return {row["provider_event_id"]: row["status"] for row in rows.rows(table_of(model))}


async def test_a_message_nothing_waits_for_is_only_stored() -> None:
    rows = MemoryRows()
    await receive(rows, sent("m-1"), sent("m-2", "john@acme.com"), sent("m-1"))
    assert [row["message_id"] for row in rows.rows(table_of(IngestSentMessage))] == ["m-1", "m-2"]
    assert outbox(rows) == []


async def test_waiting_bounces_match_by_each_key_the_message_carries() -> None:
    rows = MemoryRows()
    await deliver(
        rows,
        record("ev-id", recipient="a@acme.com", seevee_message_id="m-1"),
        record(
            "ev-sendgrid", recipient="b@acme.com", provider_message_id="pm-m-2.filter0001.16648.5515E0B88.0"
        ),
        record("ev-smtp", recipient="c@acme.com", smtp_message_id="<m-3@seevee.test>"),
        record("ev-recipient", recipient="D@acme.com"),
        record("ev-other", recipient="e@acme.com", provider_message_id="PM-M-2.FILTER7"),
    )
    assert outbox(rows) == []
    await receive(
        rows,
        sent("m-1", "x@acme.com"),
        sent("m-2", "y@acme.com"),
        sent("m-3", "z@acme.com"),
        sent("m-4", "d@acme.com"),
    )
    matched = sorted((event["data"]["message_id"], event["data"]["matched_by"]) for _, event in outbox(rows))
    assert matched == [
        ("m-1", "message_id"),
        ("m-2", "provider_message_id"),
        ("m-3", "smtp_message_id"),
        ("m-4", "recipient"),
    ]
    assert status(rows, IngestBounce)["ev-other"] == "pending", "provider ids are compared case by case"


async def test_a_bounce_matches_once_however_often_its_message_comes() -> None:
    rows = MemoryRows()
    await deliver(rows, record("ev-1", seevee_message_id="m-9"))
    await receive(rows, sent("m-9", workspace="ws-7"), sent("m-9", workspace="ws-7"))
    await receive(rows, sent("m-9", workspace="ws-7"))
    [(topic, event)] = outbox(rows)
    assert (topic, event["workspaceid"], event["id"]) == (
        "message.bounced",
        "ws-7",
        record_id(record("ev-1")),
    )
    assert status(rows, IngestBounce) == {"ev-1": "matched"}


async def test_a_waiting_complaint_matches_its_message() -> None:
    rows = MemoryRows()
    await deliver(rows, record("ev-c", kind="complaint", feedback_type="abuse", seevee_message_id="m-1"))
    await receive(rows, sent("m-1"))
    [(topic, event)] = outbox(rows)
    assert (topic, event["data"]["feedback_type"], event["data"]["message_id"]) == (
        "message.complained",
        "abuse",
        "m-1",
    )
    assert status(rows, IngestComplaint) == {"ev-c": "matched"}


async def test_a_recipient_matches_only_within_its_window() -> None:
    rows = MemoryRows()
    await deliver(rows, record("ev-1"))
    await receive(
        rows,
        sent("m-old", sent_at=NOW - timedelta(days=15)),
        sent("m-later", sent_at=NOW + timedelta(days=1)),
    )
    assert outbox(rows) == []
    assert status(rows, IngestBounce) == {"ev-1": "pending"}


async def test_a_message_that_shows_up_after_the_sweep_still_gets_its_bounce() -> None:
    rows = MemoryRows()
    await deliver(rows, record("ev-1", seevee_message_id="m-1"))
    store = IngestStore(rows)
    assert await release_due(store, NOW + WAIT, WAIT) == 1
    await store.write()
    assert status(rows, IngestBounce) == {"ev-1": "unmatched"}
    await receive(rows, sent("m-1"))
    assert [topic for topic, _ in outbox(rows)] == ["bounce.unmatched", "message.bounced"]
    assert status(rows, IngestBounce) == {"ev-1": "matched"}


async def test_a_workspace_report_waits_only_for_its_own_workspace() -> None:
    rows = MemoryRows()
    store = IngestStore(rows)
    await record_delivery(store, ParsedRequest([record("ev-1", seevee_message_id="m-1")]), NOW, "ws-2")
    await store.write()
    await receive(rows, sent("m-1", workspace="ws-1"))
    assert outbox(rows) == []
    assert status(rows, IngestBounce) == {"ev-1": "pending"}
