"""A poll applied in one go leaves the runs as applying its events one by one, redelivered, on the
careful path, or in memory (the shared ``PollSuite``).

The poll tells a story: sends, a temporary bounce, a dead mailbox pausing its siblings (one written
in capitals), a late bounce of a sibling, the same bounce under another event id, a bounce of a run
nobody knows, and a complaint stopping a run that bounces once more after the stop.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from sqlalchemy import Table

from run_orchestrator import domain
from run_orchestrator.app import MIGRATIONS
from run_orchestrator.handlers import handlers
from run_orchestrator.models import RunBounceRecord, RunRecord, RunStepRecord
from run_orchestrator.store import RunStore
from seevee_shared.bus import Handlers
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import (
    BounceCategory,
    Category,
    MessageBounced,
    MessageComplained,
    MessageSent,
    bounce_id_for,
)
from seevee_shared.store import Rows, table_of
from seevee_shared.testing.polls import PollSuite, State

WS = "ws-poll"
T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
JANE = "jane@acme.test"
RUNS = {"r1": JANE, "r2": "Jane@Acme.test", "r3": JANE, "r4": "bob@acme.test"}


def sent(run_id: str, step: int) -> CloudEvent:
    data = MessageSent(
        message_id=f"m-{run_id}-{step}",
        thread_id=f"t-{run_id}",
        contact_id=f"c-{run_id}",
        run_id=run_id,
        run_step=step,
        recipient=RUNS[run_id],
        sender_mailbox="me@seevee.test",
        provider="sendgrid",
        smtp_message_id=f"<m-{run_id}-{step}@seevee.test>",
        sent_at=T0 + timedelta(minutes=step),
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id=WS, subject=f"c-{run_id}", event_id=f"sent-{run_id}-{step}"
    )


def bounced(run_id: str, event: str, category: Category, event_id: str | None = None) -> CloudEvent:
    bounce_id = bounce_id_for("sendgrid", event, JANE)
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=f"m-{run_id}-1",
        thread_id=f"t-{run_id}",
        contact_id=f"c-{run_id}",
        run_id=run_id,
        run_step=1,
        recipient=RUNS.get(run_id, JANE),
        category=category,
        reason="userunknown" if category == BounceCategory.MAILBOX_UNKNOWN else "mailboxfull",
        permanent=category == BounceCategory.MAILBOX_UNKNOWN,
        provider="sendgrid",
        provider_event_id=event,
        matched_by="message_id",
        bounced_at=T0 + timedelta(minutes=10),
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id=WS, subject=f"c-{run_id}", event_id=event_id or bounce_id
    )


def complained(run_id: str) -> CloudEvent:
    data = MessageComplained(
        message_id=f"m-{run_id}-1",
        thread_id=f"t-{run_id}",
        contact_id=f"c-{run_id}",
        run_id=run_id,
        recipient="bob@acme.test",
        provider="sendgrid",
        complained_at=T0 + timedelta(minutes=20),
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id=WS, subject=f"c-{run_id}", event_id=f"complaint-{run_id}"
    )


class TestPolls(PollSuite):
    group = "run-orchestrator"
    migrations = MIGRATIONS
    tables: ClassVar[Mapping[Table, Collection[str]]] = {
        table_of(RunRecord): ("updated_at", "pause_at", "stop_at"),
        table_of(RunStepRecord): (),
        table_of(RunBounceRecord): (),
    }

    def handlers(self) -> Handlers[RunStore]:
        return handlers()

    async def seed(self, rows: Rows) -> None:
        store = RunStore(rows)
        for run_id, recipient in RUNS.items():
            store.create(
                domain.new_run(
                    run_id=run_id,
                    workspace_id=WS,
                    contact_id=f"c-{run_id}",
                    thread_id=f"t-{run_id}",
                    recipient=recipient,
                    sender_mailbox="me@seevee.test",
                    delays=[0, 24],
                    start_at=T0,
                    now=T0,
                )
            )
        await store.write()

    def before(self) -> list[CloudEvent]:
        return [sent("r1", 1), sent("r3", 1)]

    def poll(self) -> list[CloudEvent]:
        return [
            sent("r1", 1),
            sent("r3", 1),
            bounced("r3", "soft", "temporary"),
            bounced("r1", "hard", "mailbox_unknown"),
            bounced("r2", "late", "mailbox_unknown"),
            bounced("r1", "hard", "mailbox_unknown", event_id="hard-again"),
            bounced("r-unknown", "stray", "temporary"),
            sent("r4", 1),
            complained("r4"),
            bounced("r4", "after-stop", "temporary"),
        ]

    def check(self, state: State) -> None:
        runs = {run[0]: run for run in state["run_run"]}  # (run_id, workspace_id, ..., status, ...)
        status = [column.name for column in table_of(RunRecord).columns].index("status")
        assert {run_id: run[status] for run_id, run in runs.items()} == {
            "r1": "paused",
            "r2": "paused",
            "r3": "paused",
            "r4": "stopped",
        }
        counted = sorted(row[0] for row in state["run_bounce"])
        assert counted == ["r1", "r2", "r3", "r4"]
        announced = sorted((row[1], row[2]) for row in state["outbox"])  # (event_id, topic, key, ...)
        assert announced == [
            ("run.paused", "c-r1"),
            ("run.paused", "c-r2"),
            ("run.paused", "c-r3"),
            ("run.stopped", "c-r4"),
        ]
