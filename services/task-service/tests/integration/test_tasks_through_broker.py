"""The task-service through the real broker: bounces in, tasks through the API, `task.created` out."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, func, select

from seevee_shared.bus import OutboxRecord
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import Category, MessageBounced, Topic, bounce_id_for, dlq_topic
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
from task_service.app import create_app
from task_service.settings import TaskSettings

pytestmark = pytest.mark.kafka

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
REASONS: dict[str, str] = {
    "mailbox_unknown": "userunknown",
    "temporary": "mailboxfull",
    "spam_policy": "blocked",
}
MAILBOX_UNKNOWN_ACTION = " ".join(
    (
        "The person probably left the company: look for a current employer on LinkedIn,",
        "or reveal a different contact.",
    )
)


class Workspace:
    """A workspace of its own per test, so tests sharing the topics and the store never meet."""

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:10]
        self.workspace_id = f"ws-{self.tag}"
        self.auth = {"Authorization": token(self.workspace_id)}

    def contact(self, name: str = "jane") -> str:
        return f"c-{name}-{self.tag}"

    def bounced(
        self,
        provider_event: str,
        *,
        contact: str = "jane",
        category: Category = "mailbox_unknown",
        hours: int = 0,
        event_id: str | None = None,
    ) -> CloudEvent:
        contact_id = self.contact(contact)
        recipient = f"{contact}@acme.example"
        bounce_id = bounce_id_for("sendgrid", f"{provider_event}-{self.tag}", recipient)
        data = MessageBounced(
            bounce_id=bounce_id,
            message_id=f"m-{provider_event}-{self.tag}",
            thread_id=f"t-{contact}-{self.tag}",
            contact_id=contact_id,
            run_id=f"r-{contact}-{self.tag}",
            run_step=1,
            recipient=recipient,
            category=category,
            reason=REASONS[category],
            permanent=category == "mailbox_unknown",
            provider="sendgrid",
            provider_event_id=f"{provider_event}-{self.tag}",
            matched_by="message_id",
            bounced_at=T0 + timedelta(hours=hours),
        )
        return CloudEvent.build(
            data,
            source="/seevee/bounce-ingest",
            workspace_id=self.workspace_id,
            subject=contact_id,
            event_id=event_id or bounce_id,
        )


@pytest.fixture(scope="module")
async def service(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    path = tmp_path_factory.mktemp("tasks") / "tasks.db"
    settings = TaskSettings(
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


async def tasks_of(client: httpx.AsyncClient, ws: Workspace, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/tasks", params={"limit": "500", **params}, headers=ws.auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def wait_for_tasks(
    client: httpx.AsyncClient, ws: Workspace, holds: Any, **params: str
) -> list[dict[str, Any]]:
    seen: dict[str, list[dict[str, Any]]] = {}

    async def check() -> bool:
        seen["tasks"] = await tasks_of(client, ws, **params)
        return bool(holds(seen["tasks"]))

    await eventually(check)
    return seen["tasks"]


async def announced(service: FastAPI, ws: Workspace) -> int:
    """How many `task.created` the service queued for this workspace's contacts (read from its outbox)."""
    async with service.state.db.transaction() as session:
        query = select(func.count()).where(
            OutboxRecord.topic == Topic.TASK_CREATED, col(OutboxRecord.key).like(f"%-{ws.tag}")
        )
        count: int = (await session.exec(query)).one()
        return count


async def test_a_bounce_opens_a_task_and_announces_it(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws = Workspace()
    bounce = ws.bounced("ev1")
    async with topic_reader(kafka_bootstrap, Topic.TASK_CREATED) as reader:
        await publish(kafka_bootstrap, [bounce])
        (task,) = await wait_for_tasks(client, ws, lambda tasks: len(tasks) == 1)
        events = await read_events(reader, 1, where=lambda event: event.workspaceid == ws.workspace_id)

    assert task["contact_id"] == ws.contact()
    assert task["thread_id"] == bounce.data["thread_id"]
    assert task["run_id"] == bounce.data["run_id"]
    assert task["kind"] == "bounce_follow_up"
    assert (task["category"], task["reason"], task["status"]) == ("mailbox_unknown", "userunknown", "open")
    assert task["recommended_action"] == MAILBOX_UNKNOWN_ACTION
    assert task["title"].startswith("Mailbox unknown")
    assert datetime.fromisoformat(task["due_at"]) == T0
    assert task["bounces"] == [
        {
            "bounce_id": bounce.data["bounce_id"],
            "message_id": bounce.data["message_id"],
            "category": "mailbox_unknown",
            "reason": "userunknown",
            "bounced_at": "2026-05-04T08:00:00Z",
        }
    ]
    single = await client.get(f"/v1/tasks/{task['task_id']}", headers=ws.auth)
    assert single.status_code == 200
    assert single.json() == task

    (event,) = events
    assert event.type == "task.created"
    assert event.subject == ws.contact()
    assert event.source == "/seevee/task-service"
    assert event.data == {
        "task_id": task["task_id"],
        "contact_id": ws.contact(),
        "thread_id": bounce.data["thread_id"],
        "message_id": bounce.data["message_id"],
        "bounce_id": bounce.data["bounce_id"],
        "category": "mailbox_unknown",
        "recommended_action": MAILBOX_UNKNOWN_ACTION,
        "due_at": "2026-05-04T08:00:00Z",
    }


async def test_a_later_bounce_attaches_and_the_more_severe_one_leads(
    service: FastAPI, client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws = Workspace()
    await publish(kafka_bootstrap, [ws.bounced("ev1", category="temporary")])
    (first,) = await wait_for_tasks(client, ws, lambda tasks: len(tasks) == 1)
    assert first["category"] == "temporary"
    assert datetime.fromisoformat(first["due_at"]) == T0 + timedelta(days=1)

    await publish(kafka_bootstrap, [ws.bounced("ev2", category="mailbox_unknown", hours=3)])
    await publish(kafka_bootstrap, [ws.bounced("ev3", category="temporary", hours=5)])
    (task,) = await wait_for_tasks(client, ws, lambda tasks: bool(tasks) and len(tasks[0]["bounces"]) == 3)

    assert task["task_id"] == first["task_id"]
    assert (task["category"], task["reason"]) == ("mailbox_unknown", "userunknown")
    assert task["recommended_action"] == MAILBOX_UNKNOWN_ACTION
    assert datetime.fromisoformat(task["due_at"]) == T0 + timedelta(hours=3)
    assert [b["category"] for b in task["bounces"]] == ["temporary", "mailbox_unknown", "temporary"]
    assert await announced(service, ws) == 1


async def test_the_same_bounce_twice_attaches_once(
    service: FastAPI, client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws = Workspace()
    bounce = ws.bounced("ev1")
    republished = ws.bounced("ev1", event_id=str(uuid.uuid4()))
    marker = ws.bounced("ev2", hours=1)
    await publish(kafka_bootstrap, [bounce, bounce, republished, marker])
    (task,) = await wait_for_tasks(
        client,
        ws,
        lambda tasks: (
            bool(tasks) and marker.data["bounce_id"] in {b["bounce_id"] for b in tasks[0]["bounces"]}
        ),
    )
    assert [b["bounce_id"] for b in task["bounces"]] == [bounce.data["bounce_id"], marker.data["bounce_id"]]
    assert await announced(service, ws) == 1


async def test_after_completion_a_new_bounce_opens_a_new_task(
    service: FastAPI, client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws = Workspace()
    await publish(kafka_bootstrap, [ws.bounced("ev1")])
    (first,) = await wait_for_tasks(client, ws, lambda tasks: len(tasks) == 1)

    done = await client.post(f"/v1/tasks/{first['task_id']}/complete", headers=ws.auth)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    again = await client.post(f"/v1/tasks/{first['task_id']}/complete", headers=ws.auth)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")

    await publish(kafka_bootstrap, [ws.bounced("ev2", category="spam_policy", hours=24)])
    tasks = await wait_for_tasks(client, ws, lambda tasks: len(tasks) == 2)
    newest, oldest = tasks
    assert oldest["task_id"] == first["task_id"]
    assert oldest["status"] == "done"
    assert len(oldest["bounces"]) == 1
    assert (newest["status"], newest["category"]) == ("open", "spam_policy")
    assert datetime.fromisoformat(newest["due_at"]) == T0 + timedelta(hours=24)
    assert await announced(service, ws) == 2


async def test_dismiss_closes_an_open_task_only(client: httpx.AsyncClient, kafka_bootstrap: str) -> None:
    ws = Workspace()
    await publish(kafka_bootstrap, [ws.bounced("ev1", category="temporary")])
    (task,) = await wait_for_tasks(client, ws, lambda tasks: len(tasks) == 1)

    dismissed = await client.post(f"/v1/tasks/{task['task_id']}/dismiss", headers=ws.auth)
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    for action in ("dismiss", "complete"):
        refused = await client.post(f"/v1/tasks/{task['task_id']}/{action}", headers=ws.auth)
        assert refused.status_code == 409, action
        assert refused.json()["status"] == 409
    assert await tasks_of(client, ws, status="open") == []
    (listed,) = await tasks_of(client, ws, status="dismissed")
    assert listed["task_id"] == task["task_id"]


async def test_filters_and_cursor_pagination(client: httpx.AsyncClient, kafka_bootstrap: str) -> None:
    ws = Workspace()
    contacts = [f"p{i}" for i in range(5)]
    await publish(kafka_bootstrap, [ws.bounced(f"ev-{name}", contact=name) for name in contacts])
    tasks = await wait_for_tasks(client, ws, lambda tasks: len(tasks) == 5)
    for task in tasks[:2]:
        response = await client.post(f"/v1/tasks/{task['task_id']}/complete", headers=ws.auth)
        assert response.status_code == 200

    assert len(await tasks_of(client, ws, status="open")) == 3
    assert len(await tasks_of(client, ws, status="done")) == 2
    (only,) = await tasks_of(client, ws, contact_id=ws.contact("p3"))
    assert only["contact_id"] == ws.contact("p3")
    assert await tasks_of(client, ws, contact_id="c-nobody") == []

    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/tasks", params=params, headers=ws.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([task["task_id"] for task in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [task_id for page in pages for task_id in page] == [task["task_id"] for task in tasks]

    for params in ({"cursor": "not-a-cursor"}, {"cursor": "eyJhIjoxfQ"}):
        bad = await client.get("/v1/tasks", params=params, headers=ws.auth)
        assert bad.status_code == 400, params
        assert bad.headers["content-type"].startswith("application/problem+json")
    for params in ({"limit": "501"}, {"limit": "0"}, {"status": "closed"}):
        bad = await client.get("/v1/tasks", params=params, headers=ws.auth)
        assert bad.status_code == 422, params
        assert bad.headers["content-type"].startswith("application/problem+json")


async def test_no_token_is_401(client: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/v1/tasks"), ("GET", "/v1/tasks/x"), ("POST", "/v1/tasks/x/complete")):
        for headers in (
            {},
            {"Authorization": "Bearer not-a-jwt"},
            {"Authorization": token("ws", secret="another-secret-of-thirty-two-bytes!")},
        ):
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["content-type"].startswith("application/problem+json")


async def test_another_workspaces_task_is_404(client: httpx.AsyncClient, kafka_bootstrap: str) -> None:
    ws, other = Workspace(), Workspace()
    await publish(kafka_bootstrap, [ws.bounced("ev1")])
    (task,) = await wait_for_tasks(client, ws, lambda tasks: len(tasks) == 1)

    assert (await client.get(f"/v1/tasks/{task['task_id']}", headers=other.auth)).status_code == 404
    for action in ("complete", "dismiss"):
        response = await client.post(f"/v1/tasks/{task['task_id']}/{action}", headers=other.auth)
        assert response.status_code == 404
    assert await tasks_of(client, other) == []
    assert await tasks_of(client, other, contact_id=ws.contact()) == []
    (still,) = await tasks_of(client, ws)
    assert still["status"] == "open"


async def test_malformed_records_are_dead_lettered_and_the_next_one_applies(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws = Workspace()
    garbage = f"not a cloudevent {ws.tag}".encode()
    wrong_data = ws.bounced("ev0")
    wrong_data.data["category"] = "soft"
    key = ws.contact().encode()
    async with topic_reader(kafka_bootstrap, dlq_topic("task-service")) as dead_letters:
        await publish_raw(kafka_bootstrap, [(Topic.MESSAGE_BOUNCED, key, garbage)])
        await publish(kafka_bootstrap, [wrong_data, ws.bounced("ev1")])
        (task,) = await wait_for_tasks(client, ws, lambda tasks: len(tasks) == 1)
        parked: list[Any] = []

        async def both_parked() -> bool:
            parked.extend(await read_records(dead_letters, 2, timeout=1.0))
            return len([record for record in parked if record.key == key]) == 2

        await eventually(both_parked)

    assert [b["message_id"] for b in task["bounces"]] == [f"m-ev1-{ws.tag}"]
    ours = [record for record in parked if record.key == key]
    assert ours[0].value == garbage
    headers = {name: value.decode() for name, value in ours[0].headers}
    assert headers["x-original-topic"] == Topic.MESSAGE_BOUNCED
    assert headers["x-error-type"] == "InvalidEvent"
    assert b'"soft"' in ours[1].value
