"""The run-orchestrator's tables: runs, their steps, and the bounces each run has counted."""

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

import seevee_shared.bus.tables  # noqa: F401  (the inbox and outbox live in this store too)
from seevee_shared.db import UtcDateTime


class RunRecord(SQLModel, table=True):
    __tablename__ = "run_run"
    __table_args__ = (
        Index("ix_run_run_workspace_recipient", "workspace_id", "recipient_key", "status"),
        Index("ix_run_run_workspace_created", "workspace_id", "created_at", "run_id"),
        Index("ix_run_run_auto_restart", "status", "auto_restart_at"),
    )

    run_id: str = Field(primary_key=True)
    workspace_id: str
    contact_id: str = Field(index=True)
    thread_id: str
    recipient: str
    recipient_key: str  # lower-cased: runs to the same recipient find each other
    sender_mailbox: str
    status: str
    current_step: int
    bounce_count: int = 0
    pause_step: int | None = None
    pause_cause: str | None = None
    pause_bounce_id: str | None = None
    pause_category: str | None = None
    pause_reason: str | None = None
    pause_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    stop_cause: str | None = None
    stop_bounce_id: str | None = None
    stop_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    auto_restart_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    auto_restarts: int = 0
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class RunStepRecord(SQLModel, table=True):
    __tablename__ = "run_step"
    __table_args__ = (Index("ix_run_step_status_due", "status", "due_at"),)

    run_id: str = Field(primary_key=True, foreign_key="run_run.run_id")
    step: int = Field(primary_key=True)
    delay_hours: float
    status: str
    due_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    message_id: str | None = None


class RunBounceRecord(SQLModel, table=True):
    """One row per bounce a run counted: a bounce is counted once however often it arrives."""

    __tablename__ = "run_bounce"

    run_id: str = Field(primary_key=True, foreign_key="run_run.run_id")
    bounce_id: str = Field(primary_key=True)
    step: int
    category: str
    reason: str
    bounced_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
