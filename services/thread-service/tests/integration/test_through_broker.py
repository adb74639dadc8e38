"""The thread-service end to end through the real broker: events in, threads out, labels announced."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import (
    MessageBounced,
    MessageComplained,
    MessageSent,
    Topic,
    bounce_id_for,
    dlq_topic,
)
from seevee_shared.testing import (
    TEST_JWT_SECRET,
    eventually,
    publish,
    publish_raw,
    read_events,
    read_records,
    running_service,
    token,
    topic_reader,
)
from thread_service.app import create_app
from thread_service.models import ThreadPendingSignal
from thread_service.settings import ThreadSettings

pytestmark = pytest.mark.kafka

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


class Scenario:
    """One test's own workspace and contact, so tests sharing the topics never see each other."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.workspace_id = f"ws-{tag}"
        self.contact_id = f"c-{tag}"
        self.tag = tag
        self.auth = {"Authorization": token(self.workspace_id)}

    def ids(self, name: str) -> str:
        return f"{name}-{self.tag}"

    def build(self, data: Any, event_id: str | None = None) -> CloudEvent:
        return CloudEvent.build(
            data,
            source="/seevee/test",
            workspace_id=self.workspace_id,
            subject=self.contact_id,
            event_id=event_id,
        )

    def sent(self, message: str, thread: str = "t", days: int = 0) -> CloudEvent:
        return self.build(
            MessageSent(
                message_id=self.ids(message),
                thread_id=self.ids(thread),
                contact_id=self.contact_id,
                recipient="jane@acme.example",
                sender_mailbox="sam@seevee.example",
                provider="sendgrid",
                smtp_message_id=f"<{self.ids(message)}@seevee.example>",
                subject=f"Step for {message}",
                sent_at=T0 + timedelta(days=days),
            )
        )

    def bounced(
        self, message: str, thread: str = "t", *, provider_event: str = "ev-1", permanent: bool = True
    ) -> CloudEvent:
        bounce_id = bounce_id_for("sendgrid", self.ids(provider_event), "jane@acme.example")
        data = MessageBounced(
            bounce_id=bounce_id,
            message_id=self.ids(message),
            thread_id=self.ids(thread),
            contact_id=self.contact_id,
            recipient="jane@acme.example",
            category="mailbox_unknown" if permanent else "temporary",
            reason="userunknown" if permanent else "mailboxfull",
            permanent=permanent,
            smtp_code=550 if permanent else 452,
            smtp_status="5.1.1" if permanent else "4.2.2",
            diagnostic="550 5.1.1 <jane@acme.example>: user unknown"
            if permanent
            else "452 4.2.2 mailbox full",
            provider="sendgrid",
            provider_event_id=self.ids(provider_event),
            matched_by="message_id",
            bounced_at=T0 + timedelta(days=10 if permanent else 12),
        )
        return self.build(data, event_id=bounce_id)

    def complained(self, message: str, thread: str = "t") -> CloudEvent:
        return self.build(
            MessageComplained(
                message_id=self.ids(message),
                thread_id=self.ids(thread),
                contact_id=self.contact_id,
                recipient="jane@acme.example",
                provider="sendgrid",
                feedback_type="abuse",
                complained_at=T0 + timedelta(days=11),
            )
        )


@pytest.fixture(scope="module")
async def service(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    path: Path = tmp_path_factory.mktemp("threads") / "threads.db"
    settings = ThreadSettings(
        database_url=f"sqlite+aiosqlite:///{path}",
        kafka_bootstrap_servers=kafka_bootstrap,
        jwt_secret=TEST_JWT_SECRET,
    )
    app = create_app(settings)
    async with running_service(app) as client:
        app.state.test_client = client
        yield app


@pytest.fixture
def client(service: FastAPI) -> httpx.AsyncClient:
    test_client: httpx.AsyncClient = service.state.test_client
    return test_client


async def thread_of(
    client: httpx.AsyncClient, scenario: Scenario, thread: str = "t"
) -> dict[str, Any] | None:
    response = await client.get(f"/v1/threads/{scenario.ids(thread)}", headers=scenario.auth)
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def wait_for_thread(
    client: httpx.AsyncClient, scenario: Scenario, holds: Any, thread: str = "t"
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def check() -> bool:
        body = await thread_of(client, scenario, thread)
        seen["body"] = body
        return body is not None and bool(holds(body))

    await eventually(check)
    return seen["body"]  # type: ignore[no-any-return]


def message(body: dict[str, Any], scenario: Scenario, name: str) -> dict[str, Any]:
    (found,) = [m for m in body["messages"] if m["message_id"] == scenario.ids(name)]
    return found  # type: ignore[no-any-return]


def labelled(scenario: Scenario, name: str, label: str) -> Any:
    return lambda body: any(
        m["message_id"] == scenario.ids(name) and label in m["labels"] for m in body["messages"]
    )


async def test_a_send_starts_a_thread(client: httpx.AsyncClient, kafka_bootstrap: str) -> None:
    scenario = Scenario()
    await publish(kafka_bootstrap, [scenario.sent("m1")])
    body = await wait_for_thread(client, scenario, lambda b: True)
    assert body["thread_id"] == scenario.ids("t")
    assert body["contact_id"] == scenario.contact_id
    assert body["latest_message"]["message_id"] == scenario.ids("m1")
    assert body["messages"] == [
        {
            "message_id": scenario.ids("m1"),
            "sent_at": "2026-06-01T09:00:00Z",
            "recipient": "jane@acme.example",
            "subject": "Step for m1",
            "labels": [],
            "bounce": None,
        }
    ]


async def test_a_bounce_labels_the_message_and_is_announced(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    scenario = Scenario()
    async with topic_reader(kafka_bootstrap, Topic.THREAD_MESSAGE_LABELED) as reader:
        await publish(kafka_bootstrap, [scenario.sent("m1")])
        await wait_for_thread(client, scenario, lambda b: True)
        await publish(kafka_bootstrap, [scenario.bounced("m1")])
        body = await wait_for_thread(client, scenario, labelled(scenario, "m1", "bounced"))
        announced = await read_events(reader, 1, where=lambda e: e.workspaceid == scenario.workspace_id)
    bounced = message(body, scenario, "m1")
    assert bounced["labels"] == ["bounced"]
    assert bounced["bounce"]["category"] == "mailbox_unknown"
    assert bounced["bounce"]["reason"] == "userunknown"
    assert bounced["bounce"]["smtp_status"] == "5.1.1"
    assert bounced["bounce"]["diagnostic"] == "550 5.1.1 <jane@acme.example>: user unknown"
    assert bounced["bounce"]["bounced_at"] == "2026-06-11T09:00:00Z"
    (event,) = announced
    assert event.subject == scenario.contact_id
    assert event.data == {
        "thread_id": scenario.ids("t"),
        "message_id": scenario.ids("m1"),
        "label": "bounced",
        "category": "mailbox_unknown",
        "reason": "userunknown",
    }


async def test_a_bounce_before_its_send_is_applied_when_the_send_arrives(
    service: FastAPI, client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    scenario = Scenario()
    await publish(kafka_bootstrap, [scenario.bounced("m1")])
    db: Database = service.state.db

    async def held() -> bool:
        async with db.transaction() as session:
            rows = await session.exec(
                select(ThreadPendingSignal).where(ThreadPendingSignal.workspace_id == scenario.workspace_id)
            )
            return len(list(rows)) == 1

    await eventually(held)
    assert await thread_of(client, scenario) is None
    await publish(kafka_bootstrap, [scenario.sent("m1")])
    body = await wait_for_thread(client, scenario, labelled(scenario, "m1", "bounced"))
    assert message(body, scenario, "m1")["bounce"]["reason"] == "userunknown"


async def test_a_bounce_of_an_older_message_labels_that_message(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    scenario = Scenario()
    await publish(
        kafka_bootstrap,
        [
            scenario.sent("m2", days=3),
            scenario.sent("other", thread="t2", days=1),
            scenario.sent("m1", days=0),
        ],
    )
    await wait_for_thread(client, scenario, lambda b: len(b["messages"]) == 2)
    listing = await client.get("/v1/threads", headers=scenario.auth)
    assert [item["thread_id"] for item in listing.json()["items"]] == [scenario.ids("t"), scenario.ids("t2")]
    await publish(kafka_bootstrap, [scenario.bounced("m1")])
    body = await wait_for_thread(client, scenario, labelled(scenario, "m1", "bounced"))
    assert [m["message_id"] for m in body["messages"]] == [scenario.ids("m1"), scenario.ids("m2")]
    assert message(body, scenario, "m2")["labels"] == []
    assert message(body, scenario, "m2")["bounce"] is None
    assert body["latest_message"]["message_id"] == scenario.ids("m2")


async def test_a_complaint_labels_the_message(client: httpx.AsyncClient, kafka_bootstrap: str) -> None:
    scenario = Scenario()
    async with topic_reader(kafka_bootstrap, Topic.THREAD_MESSAGE_LABELED) as reader:
        await publish(kafka_bootstrap, [scenario.sent("m1")])
        await wait_for_thread(client, scenario, lambda b: True)
        await publish(kafka_bootstrap, [scenario.complained("m1")])
        body = await wait_for_thread(client, scenario, labelled(scenario, "m1", "complained"))
        announced = await read_events(reader, 1, where=lambda e: e.workspaceid == scenario.workspace_id)
    assert message(body, scenario, "m1")["labels"] == ["complained"]
    assert message(body, scenario, "m1")["bounce"] is None
    assert [event.data["label"] for event in announced] == ["complained"]


async def test_the_same_events_delivered_twice_change_nothing(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    scenario = Scenario()
    sent, bounced = scenario.sent("m1"), scenario.bounced("m1")
    later_soft_bounce = scenario.bounced("m1", provider_event="ev-2", permanent=False)
    async with topic_reader(kafka_bootstrap, Topic.THREAD_MESSAGE_LABELED) as reader:
        await publish(kafka_bootstrap, [sent, sent, scenario.sent("marker", thread="t2")])
        await wait_for_thread(client, scenario, lambda b: True, thread="t2")
        # the marker bounce follows the duplicates on the same partition: once it shows, they were handled
        marker = scenario.bounced("marker", thread="t2", provider_event="ev-marker")
        await publish(kafka_bootstrap, [bounced, bounced, later_soft_bounce, bounced, marker])
        await wait_for_thread(client, scenario, labelled(scenario, "marker", "bounced"), thread="t2")
        announced = await read_events(reader, 2, where=lambda e: e.workspaceid == scenario.workspace_id)
    body = await thread_of(client, scenario)
    assert body is not None
    assert len(body["messages"]) == 1
    assert message(body, scenario, "m1")["labels"] == ["bounced"]
    assert message(body, scenario, "m1")["bounce"]["reason"] == "userunknown"  # the permanent one stays
    assert [event.data["message_id"] for event in announced] == [scenario.ids("m1"), scenario.ids("marker")]


async def test_lists_filter_by_label_and_contact_and_page(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    scenario = Scenario()
    other_contact = Scenario()
    other_contact.workspace_id, other_contact.auth = scenario.workspace_id, scenario.auth
    await publish(
        kafka_bootstrap,
        [scenario.sent(f"m{day}", thread=f"t{day}", days=day) for day in range(4)]
        + [other_contact.sent("m9", thread="t9", days=9)],
    )
    await publish(
        kafka_bootstrap,
        [scenario.bounced("m1", thread="t1"), scenario.bounced("m3", thread="t3", provider_event="ev-3")],
    )
    await wait_for_thread(client, scenario, labelled(scenario, "m1", "bounced"), thread="t1")
    await wait_for_thread(client, scenario, labelled(scenario, "m3", "bounced"), thread="t3")
    await wait_for_thread(client, other_contact, lambda b: True, thread="t9")

    async def walk(**params: Any) -> list[str]:
        thread_ids: list[str] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            response = await client.get("/v1/threads", params=query, headers=scenario.auth)
            assert response.status_code == 200, response.text
            page = response.json()
            assert len(page["items"]) <= params["limit"]
            thread_ids += [item["thread_id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return thread_ids

    newest_first = [scenario.ids(f"t{day}") for day in (3, 2, 1, 0)]
    assert await walk(contact_id=scenario.contact_id, limit=3) == newest_first
    assert await walk(contact_id=scenario.contact_id, label="bounced", limit=1) == [
        scenario.ids("t3"),
        scenario.ids("t1"),
    ]
    assert await walk(label="bounced", limit=500) == [scenario.ids("t3"), scenario.ids("t1")]
    assert await walk(limit=2) == [other_contact.ids("t9"), *newest_first]
    assert await walk(contact_id=other_contact.contact_id, limit=50) == [other_contact.ids("t9")]
    assert await walk(label="complained", limit=50) == []


async def test_callers_see_only_their_workspace(client: httpx.AsyncClient, kafka_bootstrap: str) -> None:
    scenario = Scenario()
    await publish(kafka_bootstrap, [scenario.sent("m1")])
    await wait_for_thread(client, scenario, lambda b: True)
    path = f"/v1/threads/{scenario.ids('t')}"

    no_token = await client.get(path)
    assert no_token.status_code == 401
    assert no_token.headers["content-type"].startswith("application/problem+json")
    assert (await client.get("/v1/threads")).status_code == 401

    stranger = {"Authorization": token("ws-someone-else")}
    not_theirs = await client.get(path, headers=stranger)
    assert not_theirs.status_code == 404
    assert not_theirs.headers["content-type"].startswith("application/problem+json")
    listing = await client.get("/v1/threads", params={"contact_id": scenario.contact_id}, headers=stranger)
    assert listing.json() == {"items": [], "next_cursor": None}

    assert (await client.get("/v1/threads/no-such-thread", headers=scenario.auth)).status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"cursor": "not-a-cursor"}, {"cursor": "eyJzIjogMX0"}, {"label": "spam"}, {"limit": 501}, {"limit": 0}],
    ids=["garbage-cursor", "foreign-cursor", "unknown-label", "limit-too-big", "limit-zero"],
)
async def test_bad_list_queries_are_4xx_problems(
    client: httpx.AsyncClient, service: FastAPI, params: dict[str, Any]
) -> None:
    response = await client.get("/v1/threads", params=params, headers={"Authorization": token("ws-any")})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_malformed_record_is_dead_lettered_and_the_next_is_applied(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    scenario = Scenario()
    malformed = f'{{"not": "a cloudevent", "tag": "{scenario.tag}"}}'.encode()
    async with topic_reader(kafka_bootstrap, dlq_topic("thread-service")) as dead_letters:
        await publish_raw(kafka_bootstrap, [(Topic.MESSAGE_SENT, scenario.contact_id.encode(), malformed)])
        await publish(kafka_bootstrap, [scenario.sent("m1")])
        await wait_for_thread(client, scenario, lambda b: True)
        found: list[Any] = []

        async def parked() -> bool:
            found.extend(await read_records(dead_letters, 1, timeout=1.0))
            return any(record.value == malformed for record in found)

        await eventually(parked)
    (record,) = [record for record in found if record.value == malformed]
    headers = {key: value.decode() for key, value in record.headers}
    assert headers["x-original-topic"] == Topic.MESSAGE_SENT
    assert headers["x-error-type"] == "InvalidEvent"
