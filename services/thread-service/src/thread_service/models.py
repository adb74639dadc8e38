"""The thread-service's own tables: threads, their messages, message labels, signals awaiting a send.

Every row carries the workspace it belongs to; keys include it so one tenant can never touch another's.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from seevee_shared.bus import tables as bus_tables
from seevee_shared.db import UtcDateTime, utcnow

SHARED_TABLES = (bus_tables.InboxRecord, bus_tables.OutboxRecord)
"""The inbox and outbox live in this store too, so the migrations create them beside our tables."""


class Thread(SQLModel, table=True):
    """A conversation with one contact; ``latest_*`` is the newest message by sent_at."""

    __tablename__ = "thread_thread"
    __table_args__ = (
        Index("ix_thread_thread_listing", "workspace_id", "latest_sent_at", "thread_id"),
        Index("ix_thread_thread_contact", "workspace_id", "contact_id", "latest_sent_at"),
    )
    workspace_id: str = Field(primary_key=True, max_length=200)
    thread_id: str = Field(primary_key=True, max_length=200)
    contact_id: str = Field(max_length=200)
    latest_message_id: str = Field(max_length=200)
    latest_sent_at: datetime = Field(sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ThreadMessage(SQLModel, table=True):
    """One sent message of a thread, with the bounce it shows (see ``domain.prevailing_bounce``)."""

    __tablename__ = "thread_message"
    __table_args__ = (Index("ix_thread_message_thread", "workspace_id", "thread_id", "sent_at"),)
    workspace_id: str = Field(primary_key=True, max_length=200)
    message_id: str = Field(primary_key=True, max_length=200)
    thread_id: str = Field(max_length=200)
    contact_id: str = Field(max_length=200)
    recipient: str = Field(max_length=320)
    subject: str | None = Field(default=None)
    sent_at: datetime = Field(sa_type=UtcDateTime)
    bounce_id: str | None = Field(default=None, max_length=200)
    bounce_category: str | None = Field(default=None, max_length=50)
    bounce_reason: str | None = Field(default=None, max_length=100)
    bounce_permanent: bool | None = Field(default=None)
    bounce_diagnostic: str | None = Field(default=None)
    bounce_smtp_status: str | None = Field(default=None, max_length=20)
    bounced_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ThreadMessageLabel(SQLModel, table=True):
    """A label on a message; the key makes applying it twice impossible, and lets lists filter by it."""

    __tablename__ = "thread_message_label"
    __table_args__ = (Index("ix_thread_message_label_filter", "workspace_id", "label", "thread_id"),)
    workspace_id: str = Field(primary_key=True, max_length=200)
    message_id: str = Field(primary_key=True, max_length=200)
    label: str = Field(primary_key=True, max_length=50)
    thread_id: str = Field(max_length=200)
    applied_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ThreadPendingSignal(SQLModel, table=True):
    """A bounce or complaint that arrived before its ``message.sent``, applied when the message arrives."""

    __tablename__ = "thread_pending_signal"
    __table_args__ = (Index("ix_thread_pending_signal_message", "workspace_id", "message_id"),)
    workspace_id: str = Field(primary_key=True, max_length=200)
    event_id: str = Field(primary_key=True, max_length=200)
    message_id: str = Field(max_length=200)
    topic: str = Field(max_length=100)
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ThreadWriteClaim(SQLModel, table=True):
    """One row per message or thread that a PostgreSQL poll writes: the poll upserts the rows of all it
    will touch, which locks them until it commits (see ``ThreadStore.claim``).

    Row locks live in the rows themselves, so a poll of any size holds them; advisory locks would take
    one slot each of the server's fixed lock table and run it out of shared memory on large polls.
    """

    __tablename__ = "thread_write_claim"
    workspace_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(primary_key=True, max_length=20)
    key: str = Field(primary_key=True, max_length=200)
    claimed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
