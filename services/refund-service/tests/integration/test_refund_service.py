"""The refund-service end to end through the real broker: events in, HTTP API and events out."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import func, select

from refund_service.app import create_app
from refund_service.models import RefundEmployerSpike
from refund_service.settings import RefundSettings
from seevee_shared.bus.tables import InboxRecord, OutboxRecord
from seevee_shared.cloudevents import CloudEvent, decode, encode
from seevee_shared.events import ContactRevealed, MessageBounced, Topic, dlq_topic
from seevee_shared.testing import (
    TEST_JWT_SECRET,
    consume,
    eventually,
    publish,
    publish_raw,
    read_records,
    running_service,
    token,
    topic_reader,
)

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
async def service(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, module_dns_nameserver: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """One running refund-service for the module; each test works in a workspace of its own."""
    db_file = Path(tmp_path_factory.mktemp("refunds")) / "refunds.db"
    settings = RefundSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        database_url=f"sqlite+aiosqlite:///{db_file}",
        jwt_secret=TEST_JWT_SECRET,
        dns_nameserver=module_dns_nameserver,
        dns_timeout_seconds=0.5,
        consumer_max_attempts=2,
        retry_backoff_seconds=0.05,
    )
    app = create_app(settings)
    async with running_service(app) as client:
        yield app, client


def new_workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:10]}"


def reveal(workspace: str, contact_id: str, email: str, employer: str = "alive.example-test") -> CloudEvent:
    data = ContactRevealed(
        reveal_id=f"r-{uuid.uuid4().hex[:12]}",
        contact_id=contact_id,
        email=email,
        first_name="John",
        last_name="Smith",
        employer_domain=employer,
        credits=2,
        recommended=True,
        revealed_at=datetime.now(UTC) - timedelta(hours=2),
    )
    return CloudEvent.build(data, source="/seevee/reveals", workspace_id=workspace, subject=contact_id)


def bounce(
    workspace: str,
    contact_id: str,
    recipient: str,
    category: str = "mailbox_unknown",
    reason: str = "userunknown",
) -> CloudEvent:
    data = MessageBounced.model_validate(
        {
            "bounce_id": str(uuid.uuid4()),
            "message_id": f"m-{uuid.uuid4().hex[:8]}",
            "thread_id": "t-1",
            "contact_id": contact_id,
            "recipient": recipient,
            "category": category,
            "reason": reason,
            "permanent": category == "mailbox_unknown",
            "provider": "postmark",
            "provider_event_id": uuid.uuid4().hex,
            "matched_by": "message_id",
            "bounced_at": datetime.now(UTC) - timedelta(hours=1),
        }
    )
    return CloudEvent.build(data, source="/seevee/bounce-ingest", workspace_id=workspace, subject=contact_id)


async def refunds_of(client: httpx.AsyncClient, workspace: str, contact_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/refunds", params={"contact_id": contact_id}, headers={"Authorization": token(workspace)}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def wait_for_refund(client: httpx.AsyncClient, workspace: str, contact_id: str) -> dict[str, Any]:
    async def recorded() -> bool:
        return bool(await refunds_of(client, workspace, contact_id))

    await eventually(recorded)
    [refund] = await refunds_of(client, workspace, contact_id)
    return refund


async def test_a_hard_bounce_of_a_guessed_address_is_refunded_after_support_approves(
    service: tuple[FastAPI, httpx.AsyncClient], kafka_bootstrap: str
) -> None:
    _, client = service
    workspace = new_workspace()
    revealed = reveal(workspace, "c-1", "jane.doe@alive.example-test")
    await publish(kafka_bootstrap, [revealed, bounce(workspace, "c-1", "jane.doe@alive.example-test")])
    refund = await wait_for_refund(client, workspace, "c-1")
    assert {key: refund[key] for key in ("status", "basis", "credits", "reveal_id", "email")} == {
        "status": "eligible",
        "basis": "name_mismatch",
        "credits": 2,
        "reveal_id": revealed.data["reveal_id"],
        "email": "jane.doe@alive.example-test",
    }
    assert "jane.doe" in refund["explanation"]
    refund_id = refund["refund_id"]
    [recorded] = await consume(
        kafka_bootstrap,
        Topic.REFUND_ELIGIBILITY_RECORDED,
        1,
        where=lambda e: e.data["refund_id"] == refund_id,
    )
    assert (recorded.workspaceid, recorded.subject, recorded.data["status"]) == (workspace, "c-1", "eligible")

    user, support = {"Authorization": token(workspace)}, {"Authorization": token(workspace, ["support"])}
    requested = await client.post(f"/v1/refunds/{refund_id}/request", headers=user)
    assert requested.status_code == 200, requested.text
    assert requested.json()["status"] == "requested"
    assert (await client.post(f"/v1/refunds/{refund_id}/request", headers=user)).status_code == 409
    forbidden = await client.post(f"/v1/refunds/{refund_id}/approve", headers=user)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("application/problem+json")
    approved = await client.post(f"/v1/refunds/{refund_id}/approve", headers=support)
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "tester@seevee.test")
    assert approved.json()["decided_at"] is not None
    assert (await client.post(f"/v1/refunds/{refund_id}/deny", headers=support)).status_code == 409

    decided = await consume(
        kafka_bootstrap, Topic.REFUND_DECIDED, 2, where=lambda e: e.data["refund_id"] == refund_id
    )
    assert [event.data["status"] for event in decided] == ["requested", "approved"]
    assert decided[1].data["decided_by"] == "tester@seevee.test"
    assert decided[1].data["bounce_id"] == refund["bounce_id"]


async def test_support_denies_and_only_open_refunds_can_be_requested(
    service: tuple[FastAPI, httpx.AsyncClient], kafka_bootstrap: str
) -> None:
    _, client = service
    workspace = new_workspace()
    await publish(
        kafka_bootstrap,
        [
            reveal(workspace, "c-review", "john.smith@alive.example-test"),
            reveal(workspace, "c-temp", "john.smith@aonly.example-test"),
            bounce(workspace, "c-review", "john.smith@alive.example-test"),
            bounce(workspace, "c-temp", "john.smith@aonly.example-test", "temporary", "mailboxfull"),
        ],
    )
    review = await wait_for_refund(client, workspace, "c-review")
    temporary = await wait_for_refund(client, workspace, "c-temp")
    assert (review["status"], review["basis"]) == ("needs_review", "mailbox_unknown")
    assert (temporary["status"], temporary["basis"]) == ("ineligible", "temporary")
    user, support = {"Authorization": token(workspace)}, {"Authorization": token(workspace, ["support"])}
    assert (
        await client.post(f"/v1/refunds/{temporary['refund_id']}/request", headers=user)
    ).status_code == 409
    assert (await client.post(f"/v1/refunds/{review['refund_id']}/deny", headers=support)).status_code == 409
    assert (await client.post(f"/v1/refunds/{review['refund_id']}/request", headers=user)).status_code == 200
    denied = await client.post(f"/v1/refunds/{review['refund_id']}/deny", headers=support)
    assert denied.status_code == 200 and denied.json()["status"] == "denied"
    listed = await client.get("/v1/refunds", params={"status": "denied"}, headers=user)
    assert [item["refund_id"] for item in listed.json()["items"]] == [review["refund_id"]]
    [event] = await consume(
        kafka_bootstrap,
        Topic.REFUND_DECIDED,
        1,
        where=lambda e: e.data["refund_id"] == review["refund_id"] and e.data["status"] == "denied",
    )
    assert event.data["basis"] == "mailbox_unknown"


async def test_the_same_events_delivered_twice_change_nothing(
    service: tuple[FastAPI, httpx.AsyncClient], kafka_bootstrap: str
) -> None:
    app, client = service
    workspace = new_workspace()
    first = reveal(workspace, "c-1", "john.smith@nullmx.example-test")
    hard = bounce(workspace, "c-1", "john.smith@nullmx.example-test")
    marker_reveal = reveal(workspace, "c-1", "j.smith@gone.example-test")
    marker = bounce(workspace, "c-1", "j.smith@gone.example-test")
    await publish(kafka_bootstrap, [first, marker_reveal, first, hard, hard, marker])

    async def both_recorded() -> bool:
        return len(await refunds_of(client, workspace, "c-1")) == 2

    await eventually(both_recorded)  # the marker bounce comes after the duplicates on the same partition
    refunds = {item["email"]: item for item in await refunds_of(client, workspace, "c-1")}
    assert refunds["john.smith@nullmx.example-test"]["basis"] == "dead_domain"
    async with app.state.db.transaction() as session:
        payloads = (
            await session.exec(
                select(OutboxRecord.payload).where(OutboxRecord.topic == Topic.REFUND_ELIGIBILITY_RECORDED)
            )
        ).all()
        applied = (
            await session.exec(
                select(func.count())
                .select_from(InboxRecord)
                .where(InboxRecord.event_id.in_([first.id, hard.id]))  # type: ignore[attr-defined]
            )
        ).one()
    announced = [decode(payload) for payload in payloads]
    assert len([event for event in announced if event.workspaceid == workspace]) == 2
    assert applied == 2


async def test_callers_see_only_their_workspace_and_bad_input_is_a_4xx(
    service: tuple[FastAPI, httpx.AsyncClient], kafka_bootstrap: str
) -> None:
    _, client = service
    workspace = new_workspace()
    await publish(
        kafka_bootstrap,
        [reveal(workspace, "c-1", "x@alive.example-test"), bounce(workspace, "c-1", "x@alive.example-test")],
    )
    refund = await wait_for_refund(client, workspace, "c-1")
    path = f"/v1/refunds/{refund['refund_id']}"
    mine, theirs = {"Authorization": token(workspace)}, {"Authorization": token(new_workspace(), ["support"])}
    assert (await client.get(path, headers=mine)).json()["refund_id"] == refund["refund_id"]
    assert (await client.get(path)).status_code == 401
    assert (await client.get("/v1/refunds")).status_code == 401
    assert (await client.get(path, headers={"Authorization": "Bearer not-a-jwt"})).status_code == 401
    assert (await client.get(path, headers=theirs)).status_code == 404
    assert (await client.post(f"{path}/approve", headers=theirs)).status_code == 404
    assert (await client.get("/v1/refunds", params={"contact_id": "c-1"}, headers=theirs)).json()[
        "items"
    ] == []
    assert (await client.get("/v1/refunds/nope", headers=mine)).status_code == 404
    for params, status in [
        ({"cursor": "garbage!"}, 400),
        ({"cursor": "eyJhIjoxfQ"}, 400),
        ({"status": "lost"}, 422),
        ({"limit": "501"}, 422),
        ({"limit": "0"}, 422),
    ]:
        response = await client.get("/v1/refunds", params=params, headers=mine)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    bad_domain = await client.get("/v1/employers/not a domain/bounce-stats", headers=mine)
    assert bad_domain.status_code == 400


async def test_pages_walk_every_refund_once(
    service: tuple[FastAPI, httpx.AsyncClient], kafka_bootstrap: str
) -> None:
    _, client = service
    workspace = new_workspace()
    contacts = [f"c-{n}" for n in range(5)]
    events = [reveal(workspace, contact, f"{contact}@alive.example-test") for contact in contacts]
    events += [bounce(workspace, contact, f"{contact}@alive.example-test") for contact in contacts]
    await publish(kafka_bootstrap, events)
    mine = {"Authorization": token(workspace)}

    async def all_recorded() -> bool:
        response = await client.get("/v1/refunds", params={"limit": 500}, headers=mine)
        return len(response.json()["items"]) == 5

    await eventually(all_recorded)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/refunds", params=params, headers=mine)).json()
        seen += [item["contact_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == contacts


async def test_a_malformed_record_is_dead_lettered_and_the_next_one_processed(
    service: tuple[FastAPI, httpx.AsyncClient], kafka_bootstrap: str
) -> None:
    _, client = service
    workspace = new_workspace()
    key = b"c-poison"
    incomplete = bounce(workspace, "c-poison", "x@alive.example-test")
    incomplete = incomplete.model_copy(update={"data": {"bounce_id": incomplete.data["bounce_id"]}})
    async with topic_reader(kafka_bootstrap, dlq_topic("refund-service")) as dlq:
        await publish_raw(kafka_bootstrap, [(Topic.MESSAGE_BOUNCED, key, b"{not a cloudevent")])
        await publish(
            kafka_bootstrap,
            [
                incomplete,
                reveal(workspace, "c-poison", "jane@alive.example-test"),
                bounce(workspace, "c-poison", "jane@alive.example-test"),
            ],
        )
        refund = await wait_for_refund(client, workspace, "c-poison")
        dead = await read_records(dlq, 2)
    assert refund["basis"] == "name_mismatch"
    values = {record.value for record in dead if record.key == key}
    assert values == {b"{not a cloudevent", encode(incomplete)}
    headers = {record.value: {name: value.decode() for name, value in record.headers} for record in dead}
    assert headers[b"{not a cloudevent"]["x-original-topic"] == Topic.MESSAGE_BOUNCED
    assert headers[encode(incomplete)]["x-error-type"] == "InvalidEvent"


async def test_an_employer_that_keeps_bouncing_is_flagged_once(
    service: tuple[FastAPI, httpx.AsyncClient], kafka_bootstrap: str
) -> None:
    app, client = service
    workspace = new_workspace()
    employer = f"e{uuid.uuid4().hex[:8]}.example-test"
    contacts = [f"c-{n}" for n in range(6)]
    addresses = {contact: f"john.smith@{employer}" for contact in contacts}
    await publish(kafka_bootstrap, [reveal(workspace, c, addresses[c], employer) for c in contacts])
    await publish(kafka_bootstrap, [bounce(workspace, c, addresses[c]) for c in contacts[:5]])
    [spike] = await consume(
        kafka_bootstrap, Topic.EMPLOYER_BOUNCE_SPIKE, 1, where=lambda e: e.data["employer_domain"] == employer
    )
    assert spike.workspaceid == workspace
    assert (spike.data["distinct_contacts"], spike.data["window_days"]) == (5, 7)
    await publish(kafka_bootstrap, [bounce(workspace, contacts[5], addresses[contacts[5]])])
    await wait_for_refund(client, workspace, contacts[5])

    async with app.state.db.transaction() as session:
        flagged = (
            await session.exec(
                select(func.count())
                .select_from(RefundEmployerSpike)
                .where(RefundEmployerSpike.employer_domain == employer)
            )
        ).one()
        announced = (
            await session.exec(
                select(OutboxRecord.payload).where(OutboxRecord.topic == Topic.EMPLOYER_BOUNCE_SPIKE)
            )
        ).all()
    assert flagged == 1
    assert [decode(payload).data["employer_domain"] for payload in announced].count(employer) == 1
    stats = await client.get(
        f"/v1/employers/{employer}/bounce-stats", headers={"Authorization": token(workspace)}
    )
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert {
        key: body[key] for key in ("reveals", "hard_bounces", "distinct_contacts", "rate", "window_days")
    } == {
        "reveals": 6,
        "hard_bounces": 6,
        "distinct_contacts": 6,
        "rate": 1.0,
        "window_days": 7,
    }
    assert body["spike_threshold_met"] is True and body["spike_flagged"] is True
    other = await client.get(
        f"/v1/employers/{employer}/bounce-stats", headers={"Authorization": token(new_workspace())}
    )
    assert (other.json()["reveals"], other.json()["spike_flagged"]) == (0, False)
