"""Two replicas of the service on one store: every due step is claimed and announced exactly once."""

import uuid
from pathlib import Path

import pytest

from run_orchestrator.app import create_app
from run_orchestrator.settings import RunSettings
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.testing import (
    TEST_JWT_SECRET,
    eventually,
    read_events,
    running_service,
    token,
    topic_reader,
)

pytestmark = pytest.mark.kafka

RUNS = 20


async def test_two_replicas_emit_each_due_step_once(kafka_bootstrap: str, tmp_path: Path) -> None:
    def replica() -> RunSettings:
        return RunSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path}/shared.db",
            kafka_bootstrap_servers=kafka_bootstrap,
            jwt_secret=TEST_JWT_SECRET,
            scheduler_interval_seconds=0.05,
        )

    headers = {"Authorization": token(f"ws-{uuid.uuid4().hex[:10]}")}
    run_ids: set[str] = set()
    # the relay delivers at least once, so a record may repeat; a second claim would carry a new event id
    claims: dict[str, tuple[str, int]] = {}

    def ours(event: CloudEvent) -> bool:
        return event.data["run_id"] in run_ids

    async with (
        topic_reader(kafka_bootstrap, "run.step_due") as reader,
        running_service(create_app(replica())) as one,
        running_service(create_app(replica())),
    ):

        async def every_run_claimed() -> bool:
            for event in await read_events(reader, 10 * RUNS, timeout=0.5, where=ours):
                claims[event.id] = (event.data["run_id"], event.data["step"])
            return len(set(claims.values())) == RUNS

        for number in range(RUNS):
            body = {
                "contact_id": f"c-{number}",
                "thread_id": f"t-{number}",
                "recipient": f"person{number}@acme.test",
                "sender_mailbox": "me@seevee.test",
                "steps": [{"delay_hours": 0}, {"delay_hours": 24}],
            }
            response = await one.post("/v1/runs", json=body, headers=headers)
            assert response.status_code == 201
            run_ids.add(response.json()["run_id"])
        await eventually(every_run_claimed)
        for event in await read_events(reader, 10 * RUNS, timeout=2, where=ours):
            claims[event.id] = (event.data["run_id"], event.data["step"])
    assert sorted(claims.values()) == sorted((run_id, 1) for run_id in run_ids)
