"""The task-service tables: follow-up tasks and the bounces attached to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from seevee_shared.db import UtcDateTime


class Task(SQLModel, table=True):
    """One follow-up task for a bounced contact, scoped to its workspace.

    ``open_contact_id`` holds the contact id while the task is open and NULL afterwards; its unique
    constraint with the workspace lets the database itself refuse a second open task for a contact,
    whichever replica tries (NULLs never collide, so closed tasks pile up freely).
    """

    __tablename__ = "task_tasks"
    __table_args__ = (
        UniqueConstraint("workspace_id", "open_contact_id", name="uq_task_tasks_one_open_per_contact"),
        Index("ix_task_tasks_listing", "workspace_id", "created_at", "task_id"),
        Index("ix_task_tasks_contact", "workspace_id", "contact_id"),
    )

    task_id: str = Field(primary_key=True)
    workspace_id: str
    contact_id: str
    open_contact_id: str | None = None
    thread_id: str
    run_id: str | None = None
    kind: str
    category: str
    reason: str
    title: str
    recommended_action: str
    status: str
    due_at: datetime = Field(sa_type=UtcDateTime)
    lead_bounce_id: str
    lead_bounced_at: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class TaskBounce(SQLModel, table=True):
    """A bounce attached to a task; its key makes the same bounce attach once, to one task."""

    __tablename__ = "task_bounces"

    workspace_id: str = Field(primary_key=True)
    bounce_id: str = Field(primary_key=True)
    task_id: str = Field(foreign_key="task_tasks.task_id", index=True)
    message_id: str
    thread_id: str
    run_id: str | None = None
    category: str
    reason: str
    bounced_at: datetime = Field(sa_type=UtcDateTime)
    attached_at: datetime = Field(sa_type=UtcDateTime)
