"""What the run-orchestrator publishes, and as whom: `run.step_due` and a run's lifecycle changes."""

from __future__ import annotations

from datetime import datetime

from run_orchestrator import domain
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import EventData, RunPaused, RunResumed, RunStepDue, RunStopped

SOURCE = "/seevee/run-orchestrator"

_LIFECYCLE: dict[domain.TransitionKind, type[RunPaused | RunResumed | RunStopped]] = {
    "paused": RunPaused,
    "resumed": RunResumed,
    "stopped": RunStopped,
}


def step_due(record: domain.RunRow, step: int, due_at: datetime) -> CloudEvent:
    """`run.step_due`, once per claim (a restart's claim of the same step is a new event)."""
    data = RunStepDue(
        run_id=record.run_id,
        contact_id=record.contact_id,
        thread_id=record.thread_id,
        step=step,
        recipient=record.recipient,
        sender_mailbox=record.sender_mailbox,
        due_at=due_at,
    )
    return _wrap(record, data)


def lifecycle(
    record: domain.RunRow, transition: domain.Transition, event_id: str | None = None
) -> CloudEvent:
    """`run.paused` / `run.resumed` / `run.stopped`, as the transition says."""
    data = _LIFECYCLE[transition.kind](
        run_id=record.run_id,
        contact_id=record.contact_id,
        thread_id=record.thread_id,
        step=transition.step,
        cause=transition.cause,
        bounce_id=transition.bounce_id,
        at=transition.at,
    )
    return _wrap(record, data, event_id)


def _wrap(record: domain.RunRow, data: EventData, event_id: str | None = None) -> CloudEvent:
    return CloudEvent.build(
        data, source=SOURCE, workspace_id=record.workspace_id, subject=record.contact_id, event_id=event_id
    )
