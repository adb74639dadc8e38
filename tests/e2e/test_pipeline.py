"""The five services as processes, as ``make run`` starts them, over the session's real Kafka.

A run is created through the API, the test plays the sender and the ESP (a signed SendGrid webhook),
and every effect is read back through the services' public HTTP APIs.
"""

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bounce_ingest.providers.signing import SendGridSigner
from seevee_deploy.broker_config import free_port
from seevee_deploy.stack import Stack
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed, MessageSent, RunStepDue, Topic
from seevee_shared.testing import TEST_JWT_SECRET, eventually, publish, read_events, token, topic_reader

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

WORKSPACE = f"ws-e2e-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture(scope="module")
async def stack(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, signer: SendGridSigner
) -> AsyncIterator[Stack]:
    var_dir: Path = tmp_path_factory.mktemp("stack")
    names = ("bounce-ingest", "run-orchestrator", "task-service", "thread-service", "refund-service")
    async with Stack(
        var_dir=var_dir,
        ports={name: free_port() for name in names},
        kafka_bootstrap=kafka_bootstrap,
        extra_env={
            "SEEVEE_JWT_SECRET": TEST_JWT_SECRET,
            "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key_b64,
            "SCHEDULER_INTERVAL_SECONDS": "0.2",
            "DNS_CHECK_ENABLED": "false",
        },
    ) as running:
        yield running


def _sendgrid_bounce(message_id: str, recipient: str, event_id: str) -> list[dict[str, Any]]:
    return [
        {
            "email": recipient,
            "timestamp": int(time.time()),
            "event": "bounce",
            "type": "bounce",
            "bounce_classification": "Invalid Address",
            "status": "5.1.1",
            "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
            "sg_event_id": event_id,
            "sg_message_id": f"sg-{message_id}",
            "seevee_message_id": message_id,
        }
    ]


async def test_a_bounce_pauses_the_run_opens_a_task_labels_the_thread_and_records_a_refund(
    stack: Stack, kafka_bootstrap: str, signer: SendGridSigner
) -> None:
    urls = stack.urls
    auth = {"Authorization": token(WORKSPACE)}
    contact_id, thread_id = f"c-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    recipient = f"zq{uuid.uuid4().hex[:6]}@acme-e2e.example"
    now = datetime.now(UTC)
    reveal = ContactRevealed(
        reveal_id=f"r-{contact_id}",
        contact_id=contact_id,
        email=recipient,
        first_name="Jane",
        last_name="Doe",
        employer_domain="acme-e2e.example",
        credits=1,
        recommended=True,
        revealed_at=now,
    )
    await publish(kafka_bootstrap, [_event(reveal, contact_id)])

    async with (
        httpx.AsyncClient(timeout=10) as http,
        topic_reader(kafka_bootstrap, Topic.RUN_STEP_DUE) as due,
    ):
        created = await http.post(
            f"{urls['run-orchestrator']}/v1/runs",
            headers=auth,
            json={
                "contact_id": contact_id,
                "thread_id": thread_id,
                "recipient": recipient,
                "sender_mailbox": "sam@seevee.test",
                "steps": [{"delay_hours": 0}, {"delay_hours": 48}],
            },
        )
        assert created.status_code == 201, created.text
        run_id = created.json()["run_id"]

        # The sender: step 1 falls due once, and is sent.
        [step_due] = await read_events(due, 1, where=lambda e: e.data.get("run_id") == run_id)
        step = step_due.data_as(RunStepDue)
        assert (step.step, step.recipient) == (1, recipient)
        message_id = f"m-{uuid.uuid4().hex[:8]}"
        sent = MessageSent(
            message_id=message_id,
            thread_id=thread_id,
            contact_id=contact_id,
            run_id=run_id,
            run_step=1,
            recipient=recipient,
            sender_mailbox="sam@seevee.test",
            provider="sendgrid",
            provider_message_id=f"sg-{message_id}",
            smtp_message_id=f"<{message_id}@seevee.test>",
            subject="Quick question",
            sent_at=datetime.now(UTC),
        )
        await publish(kafka_bootstrap, [_event(sent, contact_id, source="/seevee/sender")])

        async def step_one_sent() -> bool:
            run = (await http.get(f"{urls['run-orchestrator']}/v1/runs/{run_id}", headers=auth)).json()
            return bool(run["steps"][0]["status"] == "sent")

        await eventually(step_one_sent)

        # The ESP: a signed SendGrid bounce, delivered twice as a provider retry would.
        signed = signer.sign(_sendgrid_bounce(message_id, recipient, f"ev-{message_id}"), int(time.time()))
        for _ in range(2):
            answer = await http.post(
                f"{urls['bounce-ingest']}/v1/webhooks/sendgrid", content=signed.body, headers=signed.headers
            )
            assert answer.status_code == 200, answer.text

        async def all_four_effects() -> bool:
            run = (await http.get(f"{urls['run-orchestrator']}/v1/runs/{run_id}", headers=auth)).json()
            tasks = (
                await http.get(
                    f"{urls['task-service']}/v1/tasks", params={"contact_id": contact_id}, headers=auth
                )
            ).json()["items"]
            thread = await http.get(f"{urls['thread-service']}/v1/threads/{thread_id}", headers=auth)
            refunds = (
                await http.get(
                    f"{urls['refund-service']}/v1/refunds", params={"contact_id": contact_id}, headers=auth
                )
            ).json()["items"]
            labelled = thread.status_code == 200 and any(
                "bounced" in m["labels"] for m in thread.json()["messages"]
            )
            return run["status"] == "paused" and bool(tasks) and labelled and bool(refunds)

        await eventually(all_four_effects, timeout=60)

        run = (await http.get(f"{urls['run-orchestrator']}/v1/runs/{run_id}", headers=auth)).json()
        assert run["pause"]["step"] == 1
        assert run["pause"]["cause"] == "bounce"
        assert run["pause"]["category"] == "mailbox_unknown"
        assert run["bounce_count"] == 1

        [task] = (
            await http.get(
                f"{urls['task-service']}/v1/tasks", params={"contact_id": contact_id}, headers=auth
            )
        ).json()["items"]
        assert (task["status"], task["category"]) == ("open", "mailbox_unknown")
        assert "LinkedIn" in task["recommended_action"]
        assert len(task["bounces"]) == 1

        thread = (await http.get(f"{urls['thread-service']}/v1/threads/{thread_id}", headers=auth)).json()
        [message] = thread["messages"]
        assert message["bounce"]["reason"] == "userunknown"

        [refund] = (
            await http.get(
                f"{urls['refund-service']}/v1/refunds", params={"contact_id": contact_id}, headers=auth
            )
        ).json()["items"]
        # "zq…" fits none of Jane Doe's name patterns: the revealed address was wrong.
        assert (refund["status"], refund["basis"]) == ("eligible", "name_mismatch")

        bounces = (
            await http.get(
                f"{urls['bounce-ingest']}/v1/bounces", params={"message_id": message_id}, headers=auth
            )
        ).json()["items"]
        assert len(bounces) == 1, "the provider's retry must not become a second bounce"

        other = {"Authorization": token("ws-someone-else")}
        for url in (
            f"{urls['run-orchestrator']}/v1/runs/{run_id}",
            f"{urls['task-service']}/v1/tasks/{task['task_id']}",
            f"{urls['thread-service']}/v1/threads/{thread_id}",
            f"{urls['refund-service']}/v1/refunds/{refund['refund_id']}",
        ):
            assert (await http.get(url, headers=other)).status_code == 404, url
            assert (await http.get(url)).status_code == 401, url


async def test_a_badly_signed_webhook_is_refused_and_stores_nothing(
    stack: Stack, signer: SendGridSigner
) -> None:
    message_id = f"m-{uuid.uuid4().hex[:8]}"
    signed = signer.sign(_sendgrid_bounce(message_id, "x@acme.example", f"ev-{message_id}"), int(time.time()))
    tampered = signed.body.replace(b"5.1.1", b"5.1.2")
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"{stack.urls['bounce-ingest']}/v1/webhooks/sendgrid", content=tampered, headers=signed.headers
        )
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")
        listed = await http.get(
            f"{stack.urls['bounce-ingest']}/v1/bounces",
            params={"message_id": message_id},
            headers={"Authorization": token(WORKSPACE)},
        )
    assert listed.json()["items"] == []


def _event(data: Any, contact_id: str, source: str = "/seevee/reveals") -> CloudEvent:
    return CloudEvent.build(data, source=source, workspace_id=WORKSPACE, subject=contact_id)
