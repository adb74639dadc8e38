"""The handlers on the in-memory store: every reaction to sends, bounces and complaints, no database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from run_orchestrator import domain
from run_orchestrator.handlers import handlers
from run_orchestrator.models import RunRecord, RunStepRecord
from run_orchestrator.settings import RunSettings
from run_orchestrator.store import RunStore
from seevee_shared.bus import apply_poll
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import BounceCategory, Category, MessageBounced, MessageComplained, MessageSent
from seevee_shared.store import MemoryRows, table_of
from seevee_shared.store.base import OUTBOX
from seevee_shared.testing.polls import events_of

WS = "ws-1"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


async def with_runs(*runs: tuple[str, str, list[float]]) -> MemoryRows:
    """A store holding active runs (run_id, recipient, delays), each started at T0."""
    rows = MemoryRows()
    store = RunStore(rows)
    for run_id, recipient, delays in runs:
        store.create(
            domain.new_run(
                run_id=run_id,
                workspace_id=WS,
                contact_id=f"c-{run_id}",
                thread_id=f"t-{run_id}",
                recipient=recipient,
                sender_mailbox="me@seevee.test",
                delays=delays,
                start_at=T0,
                now=T0,
            )
        )
    await store.write()
    return rows


async def apply(rows: MemoryRows, *polls: Sequence[CloudEvent], **settings: Any) -> MemoryRows:
    """Each list of events as one poll, as the consumer applies it."""
    registry = handlers(RunSettings(**settings))
    for poll in polls:
        await apply_poll(registry, rows, "run-orchestrator", events_of(registry, poll))
    return rows


def run(rows: MemoryRows, run_id: str) -> dict[str, Any]:
    (found,) = [row for row in rows.rows(table_of(RunRecord)) if row["run_id"] == run_id]
    return found


def steps(rows: MemoryRows, run_id: str) -> list[str]:
    return [row["status"] for row in rows.rows(table_of(RunStepRecord)) if row["run_id"] == run_id]


def announced(rows: MemoryRows) -> list[tuple[str, str]]:
    """(topic, key) of every outbox row, in the order written."""
    return [(row["topic"], row["key"]) for row in sorted(rows.rows(OUTBOX), key=lambda r: r["seq"])]


def event(data: Any, run_id: str, event_id: str | None = None) -> CloudEvent:
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id=WS, subject=f"c-{run_id}", event_id=event_id
    )


def sent(run_id: str, step: int, minutes: int = 1, message_id: str | None = None) -> CloudEvent:
    data = MessageSent(
        message_id=message_id or f"m-{run_id}-{step}",
        thread_id=f"t-{run_id}",
        contact_id=f"c-{run_id}",
        run_id=run_id,
        run_step=step,
        recipient="ada@acme.test",
        sender_mailbox="me@seevee.test",
        provider="sendgrid",
        smtp_message_id=f"<m-{run_id}-{step}@seevee.test>",
        sent_at=T0 + timedelta(minutes=minutes),
    )
    return event(data, run_id)


def bounced(
    run_id: str,
    bounce_id: str,
    category: Category = "temporary",
    step: int = 1,
    *,
    recipient: str = "ada@acme.test",
    event_id: str | None = None,
) -> CloudEvent:
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=f"m-{run_id}-{step}",
        thread_id=f"t-{run_id}",
        contact_id=f"c-{run_id}",
        run_id=run_id,
        run_step=step,
        recipient=recipient,
        category=category,
        reason="userunknown" if category == BounceCategory.MAILBOX_UNKNOWN else "mailboxfull",
        permanent=category == BounceCategory.MAILBOX_UNKNOWN,
        provider="sendgrid",
        provider_event_id=bounce_id,
        matched_by="message_id",
        bounced_at=T0 + timedelta(hours=1),
    )
    return event(data, run_id, event_id or bounce_id)


def complained(run_id: str | None, recipient: str = "ada@acme.test") -> CloudEvent:
    data = MessageComplained(
        message_id="m-1",
        thread_id="t-1",
        contact_id="c-1",
        run_id=run_id,
        recipient=recipient,
        provider="sendgrid",
        feedback_type="abuse",
        complained_at=T0 + timedelta(hours=2),
    )
    return event(data, run_id or "none")


async def test_a_send_marks_the_step_and_times_the_next_one() -> None:
    rows = await apply(await with_runs(("r1", "ada@acme.test", [0, 24])), [sent("r1", 1, minutes=5)])
    (first, second) = [r for r in rows.rows(table_of(RunStepRecord)) if r["run_id"] == "r1"]
    assert (first["status"], first["message_id"]) == ("sent", "m-r1-1")
    assert second["due_at"] == T0 + timedelta(minutes=5, hours=24)
    assert run(rows, "r1")["current_step"] == 2
    assert announced(rows) == []


async def test_the_last_send_completes_the_run_and_a_repeat_changes_nothing() -> None:
    rows = await apply(await with_runs(("r1", "ada@acme.test", [0])), [sent("r1", 1)], [sent("r1", 1)])
    assert (run(rows, "r1")["status"], steps(rows, "r1")) == ("completed", ["sent"])


async def test_a_send_of_an_unknown_run_or_of_no_run_is_ignored() -> None:
    rows = await with_runs(("r1", "ada@acme.test", [0]))
    before = rows.rows(table_of(RunRecord))
    await apply(rows, [sent("r-nobody", 1)])
    assert rows.rows(table_of(RunRecord)) == before


async def test_a_bounce_pauses_its_run_once_however_often_it_arrives() -> None:
    rows = await with_runs(("r1", "ada@acme.test", [0, 24]))
    again = bounced("r1", "b-1", event_id="another-delivery")
    await apply(rows, [sent("r1", 1), bounced("r1", "b-1"), again], [again])
    paused = run(rows, "r1")
    assert (paused["status"], paused["pause_step"], paused["pause_bounce_id"], paused["bounce_count"]) == (
        "paused",
        1,
        "b-1",
        1,
    )
    assert steps(rows, "r1") == ["bounced", "scheduled"]
    assert announced(rows) == [("run.paused", "c-r1")]


async def test_the_bounce_limit_stops_the_run_by_policy() -> None:
    rows = await with_runs(("r1", "ada@acme.test", [0, 0, 0]))
    await apply(rows, [bounced("r1", f"b-{n}") for n in (1, 2, 3)], run_max_bounces=3)
    stopped = run(rows, "r1")
    assert (stopped["status"], stopped["stop_cause"], stopped["stop_bounce_id"]) == (
        "stopped",
        "policy",
        "b-3",
    )
    assert announced(rows) == [("run.paused", "c-r1"), ("run.stopped", "c-r1")]


async def test_a_temporary_bounce_plans_one_automatic_restart() -> None:
    rows = await with_runs(("r1", "ada@acme.test", [0]))
    await apply(rows, [bounced("r1", "b-1")], soft_bounce_auto_restart_hours=2)
    assert run(rows, "r1")["auto_restart_at"] == T0 + timedelta(hours=3)


async def test_a_dead_mailbox_pauses_the_other_active_runs_to_the_recipient() -> None:
    rows = await with_runs(
        ("r1", "ada@acme.test", [0]),
        ("r2", " ADA@acme.test", [0]),
        ("r3", "grace@acme.test", [0]),
    )
    await apply(rows, [bounced("r1", "b-1", "mailbox_unknown")])
    assert [run(rows, r)["status"] for r in ("r1", "r2", "r3")] == ["paused", "paused", "active"]
    assert (run(rows, "r2")["pause_bounce_id"], run(rows, "r2")["bounce_count"]) == ("b-1", 0)
    assert sorted(announced(rows)) == [("run.paused", "c-r1"), ("run.paused", "c-r2")]


async def test_a_sibling_paused_earlier_in_the_poll_keeps_its_own_bounce() -> None:
    rows = await with_runs(("r1", "ada@acme.test", [0]), ("r2", "ada@acme.test", [0]))
    await apply(rows, [bounced("r1", "b-1", "mailbox_unknown"), bounced("r2", "b-2", "mailbox_unknown")])
    assert [run(rows, r)["bounce_count"] for r in ("r1", "r2")] == [1, 1]
    assert len(announced(rows)) == 2


async def test_a_complaint_stops_the_live_runs_to_the_recipient_and_its_own() -> None:
    rows = await with_runs(
        ("r1", "ada@acme.test", [0]),
        ("r2", "Ada@Acme.test", [0]),
        ("r3", "grace@acme.test", [0]),
        ("r4", "bob@acme.test", [0]),
    )
    await apply(rows, [bounced("r2", "b-1")], [complained("r3", "ada@acme.test")])
    assert [run(rows, r)["status"] for r in ("r1", "r2", "r3", "r4")] == ["stopped"] * 3 + ["active"]
    assert {run(rows, r)["stop_cause"] for r in ("r1", "r2", "r3")} == {"complaint"}
    assert steps(rows, "r1") == ["cancelled"]


async def test_a_bounce_after_the_stop_is_only_counted() -> None:
    rows = await with_runs(("r1", "ada@acme.test", [0, 24]))
    await apply(rows, [complained("r1"), bounced("r1", "b-1")])
    stopped = run(rows, "r1")
    assert (stopped["status"], stopped["bounce_count"], stopped["pause_step"]) == ("stopped", 1, None)
    assert announced(rows) == [("run.stopped", "c-r1")]


async def test_an_event_applied_again_announces_under_the_same_event_id() -> None:
    first = await apply(await with_runs(("r1", "ada@acme.test", [0])), [bounced("r1", "b-1")])
    second = await apply(await with_runs(("r1", "ada@acme.test", [0])), [bounced("r1", "b-1")])
    assert [r["event_id"] for r in first.rows(OUTBOX)] == [r["event_id"] for r in second.rows(OUTBOX)]
