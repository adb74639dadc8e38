"""The three handlers on the in-memory store: threads, labels and waiting signals without a database."""

from datetime import UTC, datetime, timedelta
from typing import Any

from seevee_shared.cloudevents import CloudEvent, decode
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent, Topic, bounce_id_for
from seevee_shared.store import MemoryRows, table_of
from seevee_shared.store.base import OUTBOX
from seevee_shared.testing.polls import in_memory
from thread_service.handlers import handlers
from thread_service.models import Thread, ThreadMessage, ThreadMessageLabel, ThreadPendingSignal

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def build(data: Any, event_id: str | None = None) -> CloudEvent:
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id="ws-1", subject="c-1", event_id=event_id
    )


def sent(message_id: str, days: int) -> CloudEvent:
    return build(
        MessageSent(
            message_id=message_id,
            thread_id="t-1",
            contact_id="c-1",
            recipient="jane@acme.example",
            sender_mailbox="me@seevee.example",
            provider="sendgrid",
            smtp_message_id=f"<{message_id}@seevee.example>",
            sent_at=T0 + timedelta(days=days),
        )
    )


def bounced(message_id: str, event: str, *, permanent: bool, minutes: int = 0) -> CloudEvent:
    bounce_id = bounce_id_for("sendgrid", event, "jane@acme.example")
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=message_id,
        thread_id="t-1",
        contact_id="c-1",
        recipient="jane@acme.example",
        category="mailbox_unknown" if permanent else "temporary",
        reason="userunknown" if permanent else "mailboxfull",
        permanent=permanent,
        provider="sendgrid",
        provider_event_id=event,
        matched_by="message_id",
        bounced_at=T0 + timedelta(days=5, minutes=minutes),
    )
    return build(data, event_id=bounce_id)


def complained(message_id: str) -> CloudEvent:
    return build(
        MessageComplained(
            message_id=message_id,
            thread_id="t-1",
            contact_id="c-1",
            recipient="jane@acme.example",
            provider="sendgrid",
            feedback_type="abuse",
            complained_at=T0,
        )
    )


def rows_of(rows: MemoryRows, model: Any) -> list[dict[str, Any]]:
    return rows.rows(table_of(model))


def announced(rows: MemoryRows) -> list[tuple[str, str]]:
    return sorted(
        (decode(row["payload"]).data["message_id"], decode(row["payload"]).data["label"])
        for row in rows.rows(OUTBOX)
        if row["topic"] == Topic.THREAD_MESSAGE_LABELED
    )


async def test_a_send_opens_its_thread_and_the_newest_send_is_latest() -> None:
    rows = await in_memory(handlers(), [sent("m-2", days=3)], [sent("m-1", days=0)])
    (thread,) = rows_of(rows, Thread)
    assert thread["latest_message_id"] == "m-2"
    assert [m["message_id"] for m in rows_of(rows, ThreadMessage)] == ["m-1", "m-2"]
    assert rows.rows(OUTBOX) == []


async def test_a_bounce_labels_its_message_once_and_the_hard_one_is_shown() -> None:
    polls = [
        [sent("m-1", days=0)],
        [
            bounced("m-1", "ev-hard", permanent=True, minutes=0),
            bounced("m-1", "ev-soft", permanent=False, minutes=9),
        ],
    ]
    rows = await in_memory(handlers(), *polls)
    (message,) = rows_of(rows, ThreadMessage)
    assert (message["bounce_reason"], message["bounce_permanent"]) == ("userunknown", True)
    assert [label["label"] for label in rows_of(rows, ThreadMessageLabel)] == ["bounced"]
    assert announced(rows) == [("m-1", "bounced")]


async def test_signals_before_their_send_wait_and_land_when_it_arrives() -> None:
    early = [bounced("m-1", "ev-1", permanent=True), complained("m-1")]
    rows = await in_memory(handlers(), early)
    assert len(rows_of(rows, ThreadPendingSignal)) == 2
    assert rows_of(rows, ThreadMessage) == []

    await_send = await in_memory(handlers(), early, [sent("m-1", days=0)])
    assert rows_of(await_send, ThreadPendingSignal) == []
    assert sorted(label["label"] for label in rows_of(await_send, ThreadMessageLabel)) == [
        "bounced",
        "complained",
    ]
    assert announced(await_send) == [("m-1", "bounced"), ("m-1", "complained")]


async def test_a_bounce_and_its_send_in_one_poll_meet_whichever_comes_first() -> None:
    for poll in (
        [bounced("m-1", "ev-1", permanent=True), sent("m-1", days=0)],
        [sent("m-1", days=0), bounced("m-1", "ev-1", permanent=True)],
    ):
        rows = await in_memory(handlers(), poll)
        assert rows_of(rows, ThreadPendingSignal) == []
        assert announced(rows) == [("m-1", "bounced")]


async def test_the_same_send_twice_keeps_the_first() -> None:
    first = sent("m-1", days=0)
    again = sent("m-1", days=1)
    rows = await in_memory(handlers(), [first], [again])
    (message,) = rows_of(rows, ThreadMessage)
    assert message["sent_at"] == T0
