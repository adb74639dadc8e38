"""Two replicas of each consumer in one group, over the real broker and one shared store.

Events flow while one replica is stopped mid-stream: its partitions pass to the other, which goes on
from the committed offsets. Every effect must then exist exactly once: nothing lost, nothing doubled.
"""

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed, EventData, MessageBounced, MessageSent, dlq_topic
from seevee_shared.kafka_admin import ensure_topics
from seevee_shared.testing import TEST_JWT_SECRET, eventually, publish, running_service, token

pytestmark = pytest.mark.kafka

COUNT = 240
Check = Callable[[httpx.AsyncClient, dict[str, str]], Awaitable[int]]


def _settings_kwargs(kafka: str, store: Path, group: str) -> dict[str, Any]:
    return {
        "kafka_bootstrap_servers": kafka,
        "database_url": f"sqlite+aiosqlite:///{store}",
        "jwt_secret": TEST_JWT_SECRET,
        "consumer_group": group,
        "consumer_max_records": 50,
    }


def _app(service: str, settings: dict[str, Any]) -> FastAPI:
    if service == "task-service":
        from task_service.app import create_app as tasks
        from task_service.settings import TaskSettings

        return tasks(TaskSettings(**settings))
    if service == "thread-service":
        from thread_service.app import create_app as threads
        from thread_service.settings import ThreadSettings

        return threads(ThreadSettings(**settings))
    if service == "refund-service":
        from refund_service.app import create_app as refunds
        from refund_service.settings import RefundSettings

        return refunds(RefundSettings(**settings, dns_check_enabled=False))
    from run_orchestrator.app import create_app as runs
    from run_orchestrator.settings import RunSettings

    return runs(RunSettings(**settings, scheduler_interval_seconds=0.2))


@dataclass
class Contact:
    n: int
    workspace: str
    run_id: str | None = None

    @property
    def contact_id(self) -> str:
        return f"{self.workspace}-c{self.n}"

    @property
    def thread_id(self) -> str:
        return f"{self.workspace}-t{self.n}"

    @property
    def message_id(self) -> str:
        return f"{self.workspace}-m{self.n}"

    @property
    def recipient(self) -> str:
        return f"zz{self.n}@gone-{self.workspace}.example"

    def event(self, data: EventData) -> CloudEvent:
        return CloudEvent.build(
            data, source="/seevee/test", workspace_id=self.workspace, subject=self.contact_id
        )

    def reveal(self, at: datetime) -> CloudEvent:
        return self.event(
            ContactRevealed(
                reveal_id=f"{self.workspace}-r{self.n}",
                contact_id=self.contact_id,
                email=self.recipient,
                first_name="Ada",
                last_name="Lovelace",
                employer_domain=f"gone-{self.workspace}.example",
                credits=1,
                recommended=False,
                revealed_at=at,
            )
        )

    def sent(self, at: datetime) -> CloudEvent:
        return self.event(
            MessageSent(
                message_id=self.message_id,
                thread_id=self.thread_id,
                contact_id=self.contact_id,
                run_id=self.run_id,
                run_step=1 if self.run_id else None,
                recipient=self.recipient,
                sender_mailbox="sam@seevee.test",
                provider="sendgrid",
                smtp_message_id=f"<{self.message_id}@seevee.test>",
                sent_at=at,
            )
        )

    def bounced(self, at: datetime) -> CloudEvent:
        bounce_id = str(uuid.uuid5(uuid.NAMESPACE_URL, self.message_id))
        data = MessageBounced(
            bounce_id=bounce_id,
            message_id=self.message_id,
            thread_id=self.thread_id,
            contact_id=self.contact_id,
            run_id=self.run_id,
            run_step=1 if self.run_id else None,
            recipient=self.recipient,
            category="mailbox_unknown",
            reason="userunknown",
            permanent=True,
            smtp_code=550,
            smtp_status="5.1.1",
            provider="sendgrid",
            provider_event_id=f"ev-{self.message_id}",
            matched_by="message_id",
            bounced_at=at,
        )
        return CloudEvent.build(
            data,
            source="/seevee/bounce-ingest",
            workspace_id=self.workspace,
            subject=self.contact_id,
            event_id=bounce_id,
        )


async def _all_items(http: httpx.AsyncClient, path: str, headers: dict[str, str], **params: str) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    while True:
        query = {"limit": "500", **params, **({"cursor": cursor} if cursor else {})}
        page = (await http.get(path, params=query, headers=headers)).json()
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items


async def _tasks_done(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    tasks = await _all_items(http, "/v1/tasks", headers)
    assert all(len(task["bounces"]) == 1 for task in tasks), "a bounce attached twice"
    return len(tasks)


async def _threads_done(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    threads = await _all_items(http, "/v1/threads", headers, label="bounced")
    assert all(len(thread["messages"]) == 1 for thread in threads), "a message stored twice"
    return len(threads)


async def _refunds_done(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    refunds = await _all_items(http, "/v1/refunds", headers)
    assert len({refund["reveal_id"] for refund in refunds}) == len(refunds), "two records for one reveal"
    return len(refunds)


async def _runs_done(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    runs = await _all_items(http, "/v1/runs", headers, status="paused")
    assert all(run["bounce_count"] == 1 for run in runs), "a bounce counted twice"
    return len(runs)


CHECKS: dict[str, Check] = {
    "task-service": _tasks_done,
    "thread-service": _threads_done,
    "refund-service": _refunds_done,
    "run-orchestrator": _runs_done,
}


@pytest.mark.parametrize("service", list(CHECKS))
async def test_stopping_one_of_two_replicas_mid_stream_loses_and_doubles_nothing(
    service: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    workspace = f"ws-rep-{uuid.uuid4().hex[:8]}"
    group = f"{service}-replicas-{workspace}"
    await ensure_topics(kafka_bootstrap, [dlq_topic(group)])
    settings = _settings_kwargs(kafka_bootstrap, tmp_path / "store.db", group)
    headers = {"Authorization": token(workspace)}
    contacts = [Contact(n, workspace) for n in range(COUNT)]
    now = datetime.now(UTC)
    check = CHECKS[service]

    async with contextlib.AsyncExitStack() as replicas:
        first = await replicas.enter_async_context(running_service(_app(service, settings)))
        async with running_service(_app(service, settings)) as second:
            if service == "run-orchestrator":
                for contact in contacts:
                    created = await first.post(
                        "/v1/runs",
                        headers=headers,
                        json={
                            "contact_id": contact.contact_id,
                            "thread_id": contact.thread_id,
                            "recipient": contact.recipient,
                            "sender_mailbox": "sam@seevee.test",
                            "steps": [{"delay_hours": 0}, {"delay_hours": 24}],
                        },
                    )
                    assert created.status_code == 201, created.text
                    contact.run_id = created.json()["run_id"]
            before = [c.reveal(now - timedelta(days=1)) for c in contacts] + [c.sent(now) for c in contacts]
            await publish(kafka_bootstrap, before)
            bounces = [c.bounced(now + timedelta(minutes=5)) for c in contacts]
            await publish(kafka_bootstrap, bounces[: COUNT // 2])

            async def some_applied() -> bool:
                return await check(second, headers) >= COUNT // 8

            await eventually(some_applied, timeout=90)
            await replicas.aclose()  # the first replica leaves the group mid-stream
            await publish(kafka_bootstrap, bounces[COUNT // 2 :] + bounces[:10])  # a few redelivered too

            async def all_applied() -> bool:
                return await check(second, headers) == COUNT

            await eventually(all_applied, timeout=120)
            assert await check(second, headers) == COUNT
