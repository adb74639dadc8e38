"""The events a run publishes: `run.step_due` and its lifecycle changes, as CloudEvents for the outbox."""

from datetime import datetime

from run_orchestrator.domain import Transition
from run_orchestrator.models import RunRecord
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import EventData, RunPaused, RunResumed, RunStepDue, RunStopped

SOURCE = "/seevee/run-orchestrator"

_LIFECYCLE = {"paused": RunPaused, "resumed": RunResumed, "stopped": RunStopped}


def step_due(record: RunRecord, step: int, due_at: datetime) -> CloudEvent:
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


def lifecycle(record: RunRecord, transition: Transition) -> CloudEvent:
    data = _LIFECYCLE[transition.kind](
        run_id=record.run_id,
        contact_id=record.contact_id,
        thread_id=record.thread_id,
        step=transition.step,
        cause=transition.cause,
        bounce_id=transition.bounce_id,
        at=transition.at,
    )
    return _wrap(record, data)


def _wrap(record: RunRecord, data: EventData) -> CloudEvent:
    return CloudEvent.build(data, source=SOURCE, workspace_id=record.workspace_id, subject=record.contact_id)
