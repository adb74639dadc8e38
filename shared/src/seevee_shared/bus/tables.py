"""The tables every service's store has: the inbox (effects once), the outbox (nothing lost) and the
outbox's dead letters (one unsendable row never holds back the others)."""

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from seevee_shared.db.types import UtcDateTime, utcnow


class InboxRecord(SQLModel, table=True):
    """An event id a consumer group has applied, written in the same transaction as the effect."""

    __tablename__ = "inbox"
    event_id: str = Field(primary_key=True, max_length=200)
    consumer: str = Field(primary_key=True, max_length=100)
    topic: str = Field(max_length=200)
    processed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class OutboxRecord(SQLModel, table=True):
    """An event waiting for the relay; ``seq`` keeps the order per key the relay publishes in."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "published_at", "seq"),)
    seq: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=200, unique=True)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class OutboxDeadLetter(SQLModel, table=True):
    """An outbox row the broker can never take (too large, invalid), moved aside with why, so the rows
    behind it flow; kept until an operator deals with it."""

    __tablename__ = "outbox_dead_letter"
    id: int | None = Field(default=None, primary_key=True)
    seq: int
    event_id: str = Field(max_length=200, unique=True)
    topic: str = Field(max_length=200)
    key: str = Field(max_length=200)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_type=UtcDateTime)
    error_type: str = Field(max_length=200)
    error: str = Field(max_length=2000)
    failed_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
