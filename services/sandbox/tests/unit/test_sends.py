"""The sender's side: a due step becomes a send and a ``message.sent`` of the contract."""

import random
from datetime import UTC, datetime

import pytest

from sandbox.sends import SENDER_SOURCE, message_sent_event, provider_for, send_for
from seevee_shared.cloudevents import CloudEvent, InvalidEvent, decode, encode
from seevee_shared.events import MessageSent, RunStepDue

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def step_due(run_id: str = "run-1", step: int = 1, workspace: str = "ws-a") -> CloudEvent:
    data = RunStepDue(
        run_id=run_id,
        contact_id="contact-1",
        thread_id="thread-1",
        step=step,
        recipient="lena.fischer@kestrel-logistics.example",
        sender_mailbox="sam@seevee-demo.example",
        due_at=NOW,
    )
    return CloudEvent.build(
        data, source="/seevee/run-orchestrator", workspace_id=workspace, subject="contact-1"
    )


def test_a_send_keeps_the_run_thread_and_workspace_and_gets_fresh_ids() -> None:
    rng = random.Random(1)
    first = send_for(step_due(step=2), NOW, rng)
    again = send_for(step_due(step=2), NOW, rng)

    assert (first.workspace_id, first.thread_id, first.contact_id) == ("ws-a", "thread-1", "contact-1")
    assert (first.run_id, first.run_step, first.subject) == ("run-1", 2, "Following up")
    assert first.message_id != again.message_id
    assert first.provider_message_id != again.provider_message_id
    assert first.smtp_message_id.startswith("<") and first.smtp_message_id.endswith("@seevee-demo.example>")


@pytest.mark.parametrize("run_id", [f"run-{n}" for n in range(8)])
def test_a_run_always_goes_out_through_the_same_provider(run_id: str) -> None:
    sends = {send_for(step_due(run_id, step), NOW, random.Random(step)).provider for step in (1, 2, 3)}
    assert sends == {provider_for(run_id)}


def test_every_provider_is_used() -> None:
    assert {provider_for(f"run-{n}") for n in range(48)} == {"sendgrid", "ses", "mailgun"}


def test_the_message_sent_event_is_the_contract_keyed_by_contact() -> None:
    send = send_for(step_due(workspace="ws-b"), NOW, random.Random(2))
    event = decode(encode(message_sent_event(send)))
    data = event.data_as(MessageSent)

    assert (event.type, event.source, event.workspaceid) == ("message.sent", SENDER_SOURCE, "ws-b")
    assert event.key == b"contact-1"
    assert event.dataschema == "urn:seevee:message.sent:1"
    assert data.message_id == send.message_id
    assert (data.run_id, data.run_step, data.provider) == ("run-1", 1, send.provider)
    assert data.smtp_message_id == send.smtp_message_id
    assert data.sent_at == NOW


def test_a_record_that_is_no_step_event_is_refused() -> None:
    other = CloudEvent.build(
        MessageSent(
            message_id="m",
            thread_id="t",
            contact_id="c",
            recipient="a@b.example",
            sender_mailbox="s@b.example",
            provider="sendgrid",
            smtp_message_id="<m@b.example>",
            sent_at=NOW,
        ),
        source="/seevee/sender",
        workspace_id="ws-a",
        subject="c",
    )
    with pytest.raises(InvalidEvent):
        send_for(other, NOW, random.Random(3))
