"""The run-orchestrator end to end through the real broker: API in, events in, events out."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from run_orchestrator.app import create_app
from run_orchestrator.settings import RunSettings
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent
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

RECIPIENT = "ada.lovelace@acme.test"


def settings_for(bootstrap: str, db_file: Path, **extra: Any) -> RunSettings:
    return RunSettings(
        database_url=f"sqlite+aiosqlite:///{db_file}",
        kafka_bootstrap_servers=bootstrap,
        jwt_secret=TEST_JWT_SECRET,
        scheduler_interval_seconds=0.2,
        **extra,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    db_file = tmp_path_factory.mktemp("runs") / "runs.db"
    async with running_service(create_app(settings_for(kafka_bootstrap, db_file))) as service_client:
        yield service_client


class Workspace:
    """One workspace per test keeps the tests apart on the shared service."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.id = f"ws-{uuid.uuid4().hex[:10]}"
        self.client = client
        self.headers = {"Authorization": token(self.id)}

    async def create_run(
        self,
        delays: list[float],
        *,
        recipient: str = RECIPIENT,
        contact_id: str = "c-1",
        start_in_hours: float = 0,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "contact_id": contact_id,
            "thread_id": f"t-{uuid.uuid4().hex[:8]}",
            "recipient": recipient,
            "sender_mailbox": "me@seevee.test",
            "steps": [{"delay_hours": d} for d in delays],
        }
        if start_in_hours:
            body["start_at"] = (datetime.now(UTC) + timedelta(hours=start_in_hours)).isoformat()
        response = await self.client.post("/v1/runs", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        run: dict[str, Any] = response.json()
        return run

    async def run(self, run_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/v1/runs/{run_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        return run

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(path, json=body, headers=self.headers)

    def event(self, data: Any, contact_id: str = "c-1", event_id: str | None = None) -> CloudEvent:
        return CloudEvent.build(
            data, source="/seevee/test", workspace_id=self.id, subject=contact_id, event_id=event_id
        )

    def sent(self, run: dict[str, Any], step: int, message_id: str | None = None) -> CloudEvent:
        data = MessageSent(
            message_id=message_id or f"m-{uuid.uuid4().hex[:8]}",
            thread_id=run["thread_id"],
            contact_id=run["contact_id"],
            run_id=run["run_id"],
            run_step=step,
            recipient=run["recipient"],
            sender_mailbox=run["sender_mailbox"],
            provider="sendgrid",
            smtp_message_id=f"<{uuid.uuid4().hex}@seevee.test>",
            sent_at=datetime.now(UTC),
        )
        return self.event(data, run["contact_id"])

    def bounced(self, run: dict[str, Any], step: int, category: str = "temporary") -> CloudEvent:
        bounce_id = str(uuid.uuid4())
        data = MessageBounced.model_validate(
            {
                "bounce_id": bounce_id,
                "message_id": f"m-{step}",
                "thread_id": run["thread_id"],
                "contact_id": run["contact_id"],
                "run_id": run["run_id"],
                "run_step": step,
                "recipient": run["recipient"],
                "category": category,
                "reason": "userunknown" if category == "mailbox_unknown" else "mailboxfull",
                "permanent": category == "mailbox_unknown",
                "provider": "sendgrid",
                "provider_event_id": bounce_id,
                "matched_by": "message_id",
                "bounced_at": datetime.now(UTC),
            }
        )
        return self.event(data, run["contact_id"], event_id=bounce_id)

    async def has_status(self, run_id: str, status: str) -> bool:
        return bool((await self.run(run_id))["status"] == status)


def of_run(run_id: str) -> Any:
    return lambda event: event.data.get("run_id") == run_id


async def test_main_path_due_sent_bounced_restarted_stopped(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws = Workspace(client)
    run = await ws.create_run([0, 24])
    run_id = run["run_id"]
    assert (run["status"], run["current_step"], run["pause"], run["bounce_count"]) == ("active", 1, None, 0)

    due = await consume(kafka_bootstrap, "run.step_due", 1, where=of_run(run_id))
    assert [(e.data["step"], e.workspaceid, e.subject) for e in due] == [(1, ws.id, "c-1")]
    await eventually(lambda: _step_status(ws, run_id, 1, "due"))

    sent = ws.sent(run, 1)
    await publish(kafka_bootstrap, [sent, sent])
    await eventually(lambda: _step_status(ws, run_id, 1, "sent"))
    after_sent = await ws.run(run_id)
    first, second = after_sent["steps"]
    assert first["message_id"] == sent.data["message_id"]
    assert datetime.fromisoformat(second["due_at"]) == datetime.fromisoformat(first["sent_at"]) + timedelta(
        hours=24
    )
    assert (after_sent["current_step"], second["status"]) == (2, "scheduled")

    bounce = ws.bounced(run, 1)
    await publish(kafka_bootstrap, [bounce, bounce])
    await eventually(lambda: ws.has_status(run_id, "paused"))
    paused = await ws.run(run_id)
    assert paused["pause"]["step"] == 1
    assert paused["pause"]["cause"] == "bounce"
    assert paused["pause"]["bounce_id"] == bounce.id
    assert paused["pause"]["category"] == "temporary"
    assert paused["steps"][0]["status"] == "bounced"
    events = await consume(kafka_bootstrap, "run.paused", 1, where=of_run(run_id))
    assert [(e.data["step"], e.data["cause"], e.data["bounce_id"]) for e in events] == [
        (1, "bounce", bounce.id)
    ]

    # the same bounce delivered again (a fresh record with the same ids) changes nothing
    marker_run = await ws.create_run([0], contact_id="c-1", start_in_hours=48)
    await publish(kafka_bootstrap, [bounce, ws.bounced(marker_run, 1)])
    await eventually(lambda: ws.has_status(marker_run["run_id"], "paused"))
    assert (await ws.run(run_id))["bounce_count"] == 1

    restarted = await ws.post(f"/v1/runs/{run_id}/restart")
    assert restarted.status_code == 200, restarted.text
    assert (restarted.json()["status"], restarted.json()["current_step"]) == ("active", 1)
    due = await consume(kafka_bootstrap, "run.step_due", 2, where=of_run(run_id))
    assert [e.data["step"] for e in due] == [1, 1]
    resumed = await consume(kafka_bootstrap, "run.resumed", 1, where=of_run(run_id))
    assert [(e.data["step"], e.data["cause"]) for e in resumed] == [(1, "user")]

    stopped = await ws.post(f"/v1/runs/{run_id}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "stopped"
    assert all(s["status"] in ("cancelled", "sent", "bounced") for s in stopped.json()["steps"])
    events = await consume(kafka_bootstrap, "run.stopped", 1, where=of_run(run_id))
    assert [e.data["cause"] for e in events] == ["user"]
    conflict = await ws.post(f"/v1/runs/{run_id}/restart", {"at": datetime.now(UTC).isoformat()})
    assert conflict.status_code == 409
    assert conflict.headers["content-type"].startswith("application/problem+json")
    # exactly once: two step_due for step 1 (the first send and the restart), nothing after the stop
    assert len(await consume(kafka_bootstrap, "run.step_due", 3, timeout=3, where=of_run(run_id))) == 2


async def test_a_late_bounce_still_pauses_on_the_bounced_step(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws = Workspace(client)
    run = await ws.create_run([0, 0, 24])
    run_id = run["run_id"]
    await consume(kafka_bootstrap, "run.step_due", 1, where=of_run(run_id))
    await publish(kafka_bootstrap, [ws.sent(run, 1)])
    due = await consume(kafka_bootstrap, "run.step_due", 2, where=of_run(run_id))
    assert [e.data["step"] for e in due] == [1, 2]
    await publish(kafka_bootstrap, [ws.sent(run, 2)])
    await eventually(lambda: _step_status(ws, run_id, 2, "sent"))

    bounce = ws.bounced(run, 1, "spam_policy")
    await publish(kafka_bootstrap, [bounce])
    await eventually(lambda: ws.has_status(run_id, "paused"))
    paused = await ws.run(run_id)
    assert (paused["pause"]["step"], paused["current_step"], paused["bounce_count"]) == (1, 1, 1)
    assert [s["status"] for s in paused["steps"]] == ["bounced", "sent", "scheduled"]
    events = await consume(kafka_bootstrap, "run.paused", 1, where=of_run(run_id))
    assert [(e.data["step"], e.data["bounce_id"]) for e in events] == [(1, bounce.id)]


async def test_a_dead_mailbox_pauses_sibling_runs_and_a_complaint_stops_them(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws, other_ws = Workspace(client), Workspace(client)
    bounced_run = await ws.create_run([0, 24], start_in_hours=24)
    sibling = await ws.create_run([0], contact_id="c-2", start_in_hours=24)
    shouting = await ws.create_run([0], recipient=RECIPIENT.upper(), start_in_hours=24)
    elsewhere = await ws.create_run([0], recipient="grace@acme.test", start_in_hours=24)
    foreign = await other_ws.create_run([0], start_in_hours=24)

    bounce = ws.bounced(bounced_run, 1, "mailbox_unknown")
    await publish(kafka_bootstrap, [bounce])
    for run in (bounced_run, sibling, shouting):
        await eventually(partial(ws.has_status, run["run_id"], "paused"))
        pause = (await ws.run(run["run_id"]))["pause"]
        assert (pause["cause"], pause["bounce_id"], pause["category"]) == (
            "bounce",
            bounce.id,
            "mailbox_unknown",
        )
    assert (await ws.run(sibling["run_id"]))["bounce_count"] == 0
    assert (await ws.run(elsewhere["run_id"]))["status"] == "active"
    assert (await other_ws.run(foreign["run_id"]))["status"] == "active"
    paused = await consume(kafka_bootstrap, "run.paused", 1, where=of_run(sibling["run_id"]))
    assert [(e.data["cause"], e.data["bounce_id"]) for e in paused] == [("bounce", bounce.id)]

    complaint = MessageComplained(
        message_id="m-1",
        thread_id=bounced_run["thread_id"],
        contact_id="c-1",
        run_id=bounced_run["run_id"],
        recipient=RECIPIENT,
        provider="sendgrid",
        feedback_type="abuse",
        complained_at=datetime.now(UTC),
    )
    await publish(kafka_bootstrap, [ws.event(complaint)])
    for run in (bounced_run, sibling, shouting):
        await eventually(partial(ws.has_status, run["run_id"], "stopped"))
        stopped = await consume(kafka_bootstrap, "run.stopped", 1, where=of_run(run["run_id"]))
        assert [e.data["cause"] for e in stopped] == ["complaint"]
    assert (await ws.run(elsewhere["run_id"]))["status"] == "active"
    assert (await other_ws.run(foreign["run_id"]))["status"] == "active"


async def test_bulk_stop_answers_stopped_unchanged_not_found(client: httpx.AsyncClient) -> None:
    ws, other_ws = Workspace(client), Workspace(client)
    a = await ws.create_run([0], start_in_hours=24)
    b = await ws.create_run([0], start_in_hours=24)
    foreign = await other_ws.create_run([0], start_in_hours=24)
    assert (await ws.post(f"/v1/runs/{b['run_id']}/stop")).status_code == 200

    response = await ws.post(
        "/v1/runs/bulk-stop", {"run_ids": [a["run_id"], b["run_id"], foreign["run_id"], "nope"]}
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["stopped"], answer["unchanged"], answer["not_found"]) == (
        [a["run_id"]],
        [b["run_id"]],
        [foreign["run_id"], "nope"],
    )
    assert (await other_ws.run(foreign["run_id"]))["status"] == "active"

    c = await ws.create_run([0], contact_id="c-9", start_in_hours=24)
    response = await ws.post("/v1/runs/bulk-stop", {"filter": {"contact_id": "c-9", "status": "active"}})
    assert response.json()["stopped"] == [c["run_id"]]
    stopped = await ws.run(c["run_id"])
    assert stopped["stop"]["cause"] == "bulk"

    bad_bodies: list[dict[str, Any]] = [
        {},
        {"run_ids": []},
        {"filter": {}},
        {"run_ids": ["x"] * 1001},
        {"run_ids": ["x"], "filter": {"status": "active"}},
    ]
    for bad in bad_bodies:
        rejected = await ws.post("/v1/runs/bulk-stop", bad)
        assert rejected.status_code == 422, bad
        assert rejected.headers["content-type"].startswith("application/problem+json")


async def test_api_scope_auth_validation_and_paging(client: httpx.AsyncClient) -> None:
    ws, other_ws = Workspace(client), Workspace(client)
    runs = [await ws.create_run([0], contact_id="c-page", start_in_hours=24) for _ in range(3)]
    run_id = runs[0]["run_id"]

    assert (await client.get(f"/v1/runs/{run_id}")).status_code == 401
    assert (await client.post("/v1/runs", json={})).status_code == 401
    bad_token = {"Authorization": "Bearer not-a-jwt"}
    assert (await client.get("/v1/runs", headers=bad_token)).status_code == 401
    for call in (
        other_ws.client.get(f"/v1/runs/{run_id}", headers=other_ws.headers),
        other_ws.post(f"/v1/runs/{run_id}/stop"),
        other_ws.post(f"/v1/runs/{run_id}/restart"),
    ):
        response = await call
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    restart_active = await ws.post(f"/v1/runs/{run_id}/restart")
    assert restart_active.status_code == 409

    page = await client.get("/v1/runs", params={"contact_id": "c-page", "limit": 2}, headers=ws.headers)
    assert page.status_code == 200
    first = page.json()
    assert [r["run_id"] for r in first["items"]] == [r["run_id"] for r in runs[:2]]
    rest = await client.get(
        "/v1/runs",
        params={"contact_id": "c-page", "limit": 2, "cursor": first["next_cursor"]},
        headers=ws.headers,
    )
    assert [r["run_id"] for r in rest.json()["items"]] == [runs[2]["run_id"]]
    assert rest.json()["next_cursor"] is None
    active = await client.get("/v1/runs", params={"status": "active"}, headers=ws.headers)
    assert len(active.json()["items"]) == 3
    theirs = await client.get("/v1/runs", headers=other_ws.headers)
    assert theirs.json()["items"] == []

    for params in ({"cursor": "garbage!"}, {"limit": 0}, {"limit": 501}, {"status": "sleeping"}):
        response = await client.get("/v1/runs", params=params, headers=ws.headers)
        assert 400 <= response.status_code < 500, params
        assert response.headers["content-type"].startswith("application/problem+json")
    base = {"contact_id": "c", "thread_id": "t", "recipient": "a@b.test", "sender_mailbox": "me@seevee.test"}
    for body in (
        {**base, "steps": []},
        {**base, "steps": [{"delay_hours": -1}]},
        {**base, "recipient": "nobody", "steps": [{"delay_hours": 0}]},
        {**base, "steps": [{"delay_hours": 0}], "start_at": "2026-01-01T00:00:00"},
        {**base, "steps": "many"},
    ):
        response = await ws.post("/v1/runs", body)
        assert response.status_code == 422, body
    naive = await ws.post(f"/v1/runs/{run_id}/restart", {"at": "2026-01-01T00:00:00"})
    assert naive.status_code == 422


async def test_a_malformed_record_goes_to_the_dead_letter_topic(
    client: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    ws = Workspace(client)
    run = await ws.create_run([0], start_in_hours=24)
    unknown_run = {**run, "run_id": str(uuid.uuid4())}
    async with topic_reader(kafka_bootstrap, "dlq.run-orchestrator") as dlq:
        await publish_raw(kafka_bootstrap, [("message.bounced", b"c-1", b"{not json")])
        await publish(kafka_bootstrap, [ws.bounced(unknown_run, 1), ws.bounced(run, 1)])
        await eventually(lambda: ws.has_status(run["run_id"], "paused"))
        dead = await read_records(dlq, 2, timeout=5)
    assert [record.value for record in dead] == [b"{not json"]
    headers = dict(dead[0].headers)
    assert headers["x-original-topic"] == b"message.bounced"


async def _step_status(ws: Workspace, run_id: str, step: int, status: str) -> bool:
    return bool((await ws.run(run_id))["steps"][step - 1]["status"] == status)
