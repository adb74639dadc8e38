"""Every delivery order of a thread's events ends in the same stored state (real store, no broker);
and the shared ``PollSuite`` (a poll at once = one by one = redelivered = careful = in memory)."""

import asyncio
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import permutations
from typing import Any, ClassVar

from sqlalchemy import Table
from sqlmodel import select

from seevee_shared.bus import EventConsumer, Handlers, OutboxRecord
from seevee_shared.cloudevents import CloudEvent, decode
from seevee_shared.db import Database
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent, bounce_id_for
from seevee_shared.store import SqlRows, table_of
from seevee_shared.testing import polled
from seevee_shared.testing.polls import PollSuite, State
from thread_service.app import MIGRATIONS_DIR
from thread_service.handlers import handlers
from thread_service.models import Thread, ThreadMessage, ThreadMessageLabel, ThreadPendingSignal
from thread_service.store import ThreadStore

WS = "ws-order"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def sent(message_id: str, days: int, ws: str = WS, thread_id: str = "t-1") -> CloudEvent:
    data = MessageSent(
        message_id=message_id,
        thread_id=thread_id,
        contact_id="c-1",
        recipient="jane@acme.example",
        sender_mailbox="me@seevee.example",
        provider="sendgrid",
        smtp_message_id=f"<{message_id}@seevee.example>",
        subject=f"hello {message_id}",
        sent_at=T0 + timedelta(days=days),
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id=ws, subject="c-1")


def bounced(message_id: str, event: str, *, permanent: bool, minutes: int, ws: str = WS) -> CloudEvent:
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
        smtp_status="5.1.1" if permanent else "4.2.2",
        diagnostic="550 5.1.1 no such user" if permanent else "452 4.2.2 mailbox full",
        provider="sendgrid",
        provider_event_id=event,
        matched_by="message_id",
        bounced_at=T0 + timedelta(days=5, minutes=minutes),
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id=ws, subject="c-1", event_id=bounce_id)


def complained(message_id: str, ws: str = WS) -> CloudEvent:
    data = MessageComplained(
        message_id=message_id,
        thread_id="t-1",
        contact_id="c-1",
        recipient="jane@acme.example",
        provider="sendgrid",
        feedback_type="abuse",
        complained_at=T0 + timedelta(days=6),
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id=ws, subject="c-1")


async def deliver(db: Database, events: Sequence[CloudEvent]) -> None:
    """Each event in a transaction of its own, under a group of its own: no inbox hides a redelivery,
    so the handlers themselves must make it change nothing."""
    for event in events:
        consumer = EventConsumer(group=f"deliver-{uuid.uuid4().hex}", db=db, handlers=handlers())
        await consumer.apply(polled([event]))


async def deliver_as_one_poll(db: Database, events: Sequence[CloudEvent]) -> None:
    """Through the consumer's straight path, where the poll's messages and labels are preloaded."""
    consumer = EventConsumer(group="thread-service", db=db, handlers=handlers())
    await consumer.apply(polled(events))
    assert consumer.careful_polls == 0, "the poll failed on its straight path"


async def snapshot(db: Database, ws: str = WS) -> dict[str, Any]:
    async with db.transaction() as session:
        thread = (await session.exec(select(Thread).where(Thread.workspace_id == ws))).one()
        messages = list(
            await session.exec(
                select(ThreadMessage)
                .where(ThreadMessage.workspace_id == ws)
                .order_by(ThreadMessage.message_id)
            )
        )
        store = ThreadStore(SqlRows(await session.connection()))
        labels = await store.labels_of(ws, [m.message_id for m in messages])
        pending = list(
            await session.exec(select(ThreadPendingSignal).where(ThreadPendingSignal.workspace_id == ws))
        )
        outbox = [decode(record.payload) for record in await session.exec(select(OutboxRecord))]
    return {
        "latest": thread.latest_message_id,
        "messages": {
            m.message_id: (labels.get(m.message_id, ()), m.bounce_id, m.bounce_reason) for m in messages
        },
        "pending": len(pending),
        "announced": sorted((e.data["message_id"], e.data["label"]) for e in outbox if e.workspaceid == ws),
    }


async def test_every_order_of_two_sends_two_bounces_and_a_complaint_agrees(db: Database) -> None:
    hard_bounce_id = bounce_id_for("sendgrid", "ev-hard", "jane@acme.example")
    outcomes = []
    for index, order in enumerate(permutations(range(5))):
        if index % 4:  # 30 of the 120 orders, six starting with each event, keep the suite quick
            continue
        ws = f"ws-order-{index}"
        events = [
            sent("m-1", days=0, ws=ws),
            sent("m-2", days=3, ws=ws),
            bounced("m-1", "ev-soft", permanent=False, minutes=0, ws=ws),
            bounced("m-1", "ev-hard", permanent=True, minutes=1, ws=ws),
            complained("m-2", ws=ws),
        ]
        ordered = [events[position] for position in order]
        await deliver(db, [*ordered, *ordered])  # and everything delivered twice
        outcomes.append(await snapshot(db, ws))
    first = outcomes[0]
    assert first == {
        "latest": "m-2",
        "messages": {
            "m-1": (("bounced",), hard_bounce_id, "userunknown"),
            "m-2": (("complained",), None, None),
        },
        "pending": 0,
        "announced": [("m-1", "bounced"), ("m-2", "complained")],
    }
    assert all(outcome == first for outcome in outcomes)


async def test_every_order_in_one_poll_agrees_with_one_event_at_a_time(db: Database) -> None:
    for index, order in enumerate(permutations(range(6))):
        if index % 24:  # 30 of the 720 orders, five starting with each event
            continue
        # Bounce ids come from the provider's event, and the inbox remembers them: one set per order.
        events = {
            mode: [
                sent("m-1", days=0, ws=f"ws-{mode}-{index}"),
                sent("m-2", days=3, ws=f"ws-{mode}-{index}"),
                bounced("m-1", f"ev-soft-{index}", permanent=False, minutes=0, ws=f"ws-{mode}-{index}"),
                bounced("m-1", f"ev-hard-{index}", permanent=True, minutes=1, ws=f"ws-{mode}-{index}"),
                bounced("m-2", f"ev-other-{index}", permanent=False, minutes=2, ws=f"ws-{mode}-{index}"),
                complained("m-2", ws=f"ws-{mode}-{index}"),
            ]
            for mode in ("poll", "single")
        }
        poll = [events["poll"][position] for position in order]
        await deliver_as_one_poll(db, poll[:3])  # and the rest finds these stored
        await deliver_as_one_poll(db, [*poll, *poll])
        await deliver(db, [events["single"][position] for position in order])
        together = await snapshot(db, f"ws-poll-{index}")
        assert together == await snapshot(db, f"ws-single-{index}")
        assert together["pending"] == 0
        assert together["announced"] == [("m-1", "bounced"), ("m-2", "bounced"), ("m-2", "complained")]


async def test_a_bounce_waits_for_its_send(db: Database) -> None:
    await deliver(db, [bounced("m-1", "ev-1", permanent=True, minutes=0)])
    async with db.transaction() as session:
        assert len(list(await session.exec(select(ThreadPendingSignal)))) == 1
        assert list(await session.exec(select(Thread))) == []
    await deliver(db, [sent("m-1", days=0)])
    state = await snapshot(db)
    assert state["messages"]["m-1"][0] == ("bounced",)
    assert state["pending"] == 0
    assert len(state["announced"]) == 1


async def test_an_older_send_arriving_late_does_not_become_latest(db: Database) -> None:
    await deliver(db, [sent("m-2", days=3), sent("m-1", days=0)])
    assert (await snapshot(db))["latest"] == "m-2"


async def test_a_bounce_in_another_workspace_does_not_touch_the_message(db: Database) -> None:
    other = bounced("m-1", "ev-1", permanent=True, minutes=0).model_copy(update={"workspaceid": "ws-other"})
    await deliver(db, [sent("m-1", days=0), other])
    state = await snapshot(db)
    assert state["messages"]["m-1"] == ((), None, None)
    async with db.transaction() as session:
        held = await session.exec(
            select(ThreadPendingSignal).where(ThreadPendingSignal.workspace_id == "ws-other")
        )
        assert len(list(held)) == 1


async def test_a_bounce_handled_at_the_same_time_as_its_send_is_never_lost(db: Database) -> None:
    """The send and the bounce come from different topics, so they may be applied concurrently."""
    pairs = [
        (sent(f"m-{n}", days=n), bounced(f"m-{n}", f"ev-{n}", permanent=True, minutes=n)) for n in range(25)
    ]
    await asyncio.gather(*(deliver(db, [event]) for pair in pairs for event in pair))
    state = await snapshot(db)
    assert all(labels == ("bounced",) for labels, _, _ in state["messages"].values())
    assert len(state["messages"]) == 25
    assert state["pending"] == 0


async def test_a_poll_of_thousands_of_messages_and_threads_applies_at_once(db: Database) -> None:
    """A poll holds a lock on each message and thread it writes; on PostgreSQL that must not need a
    slot each in the server's fixed lock table (20,000 advisory locks ran it out of shared memory)."""
    await deliver_as_one_poll(db, [sent(f"m-{n}", days=0, thread_id=f"t-{n}") for n in range(10_000)])
    async with db.transaction() as session:
        assert len(list(await session.exec(select(Thread).where(Thread.workspace_id == WS)))) == 10_000


# The shared base suite: a poll mixing the three topics, where bounces and a complaint arrive before
# their send, a send arrives twice, and two messages share a thread.


class TestPolls(PollSuite):
    group = "thread-service"
    migrations = MIGRATIONS_DIR
    tables: ClassVar[Mapping[Table, Collection[str]]] = {
        table_of(Thread): ("created_at", "updated_at"),
        table_of(ThreadMessage): ("created_at",),
        table_of(ThreadMessageLabel): ("applied_at",),
        table_of(ThreadPendingSignal): ("received_at",),
    }

    def handlers(self) -> Handlers[ThreadStore]:
        return handlers()

    def before(self) -> list[CloudEvent]:
        return [sent("m-0", days=0), bounced("m-9", "ev-early", permanent=True, minutes=0)]

    def poll(self) -> list[CloudEvent]:
        first = sent("m-1", days=1)
        return [
            bounced("m-1", "ev-soft", permanent=False, minutes=0),
            complained("m-2"),
            first,
            bounced("m-1", "ev-hard", permanent=True, minutes=1),
            sent("m-2", days=3),
            first,
            bounced("m-0", "ev-zero", permanent=False, minutes=2),
            bounced("m-3", "ev-waits", permanent=True, minutes=3),
            sent("m-9", days=2),
        ]

    def check(self, state: State) -> None:
        (thread,) = state["thread_thread"]  # (workspace_id, thread_id, contact_id, latest_message_id, ...)
        assert thread[3] == "m-2"
        labels = sorted((row[1], row[2]) for row in state["thread_message_label"])
        assert labels == [("m-0", "bounced"), ("m-1", "bounced"), ("m-2", "complained"), ("m-9", "bounced")]
        assert [row[2] for row in state["thread_pending_signal"]] == ["m-3"]
        assert len(state["outbox"]) == 4
