"""The sender against the real broker: every due step becomes one ``message.sent``, junk is stepped over."""

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from sandbox.sender import Sender
from sandbox.sends import Send
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageSent, RunStepDue, Topic
from seevee_shared.testing import consume, eventually, publish, publish_raw

pytestmark = pytest.mark.kafka


def step_due(run_id: str, contact_id: str) -> CloudEvent:
    data = RunStepDue(
        run_id=run_id,
        contact_id=contact_id,
        thread_id=f"thread-{run_id}",
        step=1,
        recipient=f"{run_id}@acme.example",
        sender_mailbox="sam@seevee-demo.example",
        due_at=datetime.now(UTC),
    )
    return CloudEvent.build(
        data, source="/seevee/run-orchestrator", workspace_id="ws-sender", subject=contact_id
    )


async def test_each_due_step_is_sent_once_under_its_contact_key(kafka_bootstrap: str) -> None:
    run_ids = [f"run-{uuid.uuid4()}" for _ in range(4)]
    sent: list[Send] = []
    sender = Sender(kafka_bootstrap, group_id=f"sandbox-sender-{uuid.uuid4().hex[:8]}", on_send=sent.append)
    await sender.start()
    task = asyncio.create_task(sender.run())
    try:
        await publish_raw(kafka_bootstrap, [(Topic.RUN_STEP_DUE, b"junk", b"not a cloud event")])
        await publish(kafka_bootstrap, [step_due(run_id, f"contact-{run_id}") for run_id in run_ids])

        async def all_sent() -> bool:
            return {s.run_id for s in sent} >= set(run_ids)

        await eventually(all_sent, timeout=60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sender.stop()

    ours = [s for s in sent if s.run_id in run_ids]
    assert len(ours) == len(run_ids)
    assert sender.skipped >= 1
    events = await consume(
        kafka_bootstrap, Topic.MESSAGE_SENT, len(run_ids), where=lambda e: e.data.get("run_id") in run_ids
    )
    assert len(events) == len(run_ids)
    by_run = {s.run_id: s for s in ours}
    for event in events:
        data = event.data_as(MessageSent)
        assert data.run_id is not None
        assert event.workspaceid == "ws-sender"
        assert event.key == f"contact-{data.run_id}".encode()
        assert data.message_id == by_run[data.run_id].message_id
        assert data.thread_id == f"thread-{data.run_id}"
