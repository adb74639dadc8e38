"""What the API accepts and answers: the Run resource (ARCHITECTURE section 5) and the request bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from run_orchestrator.domain import RunStatus, StepStatus, StoredRun

Id = Field(min_length=1, max_length=200)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepIn(_Body):
    delay_hours: float = Field(
        ge=0, le=24 * 365, description="hours after the previous step went out (the first: after start_at)"
    )


class RunCreate(_Body):
    contact_id: str = Id
    thread_id: str = Id
    recipient: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    sender_mailbox: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    steps: list[StepIn] = Field(min_length=1, max_length=100)
    start_at: AwareDatetime | None = None


class RestartIn(_Body):
    at: AwareDatetime | None = Field(None, description="when the paused step is due again (default now)")


class BulkFilter(_Body):
    status: RunStatus | None = None
    contact_id: str | None = Field(None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def _not_everything(self) -> Self:
        if self.status is None and self.contact_id is None:
            raise ValueError("a filter needs a status or a contact_id")
        return self


class BulkStopIn(_Body):
    run_ids: list[str] | None = Field(None, min_length=1, max_length=1000)
    filter: BulkFilter | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> Self:
        if (self.run_ids is None) == (self.filter is None):
            raise ValueError("give either run_ids or filter")
        return self


class BulkStopOut(BaseModel):
    stopped: list[str]
    unchanged: list[str]
    not_found: list[str]
    more: bool = Field(False, description="a filter matched more runs than one call handles: call again")


class StepOut(BaseModel):
    step: int
    delay_hours: float
    status: StepStatus
    due_at: datetime | None
    sent_at: datetime | None
    message_id: str | None


class PauseOut(BaseModel):
    step: int
    cause: str
    bounce_id: str | None
    category: str | None
    reason: str | None
    at: datetime


class StopOut(BaseModel):
    cause: str
    bounce_id: str | None
    at: datetime


class RunOut(BaseModel):
    run_id: str
    contact_id: str
    thread_id: str
    recipient: str
    sender_mailbox: str
    status: RunStatus
    current_step: int
    steps: list[StepOut]
    pause: PauseOut | None
    stop: StopOut | None
    bounce_count: int
    auto_restart_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, stored: StoredRun) -> RunOut:
        r, run = stored.record, stored.domain()
        return cls(
            run_id=r.run_id,
            contact_id=r.contact_id,
            thread_id=r.thread_id,
            recipient=r.recipient,
            sender_mailbox=r.sender_mailbox,
            status=run.status,
            current_step=run.current_step,
            steps=[
                StepOut(
                    step=s.step,
                    delay_hours=s.delay_hours,
                    status=s.status,
                    due_at=s.due_at,
                    sent_at=s.sent_at,
                    message_id=s.message_id,
                )
                for s in run.steps
            ],
            pause=PauseOut(**vars(run.pause)) if run.pause else None,
            stop=StopOut(**vars(run.stop)) if run.stop else None,
            bounce_count=run.bounce_count,
            auto_restart_at=run.auto_restart_at,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
