"""The refund-service's tables: reveals, the bounces of revealed addresses, refunds, employer spikes."""

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# The shared inbox and outbox live in this store too, and so in its migrations.
__all__ = [
    "InboxRecord",
    "OutboxRecord",
    "RefundBounce",
    "RefundEmployerSpike",
    "RefundRecord",
    "RefundReveal",
]

from seevee_shared.bus.tables import InboxRecord, OutboxRecord
from seevee_shared.db import UtcDateTime, utcnow


class RefundReveal(SQLModel, table=True):
    """A reveal as ``contact.revealed`` told it: what a bounce is matched against."""

    __tablename__ = "refund_reveal"
    __table_args__ = (
        UniqueConstraint("workspace_id", "reveal_id", name="uq_refund_reveal_workspace_reveal"),
        Index("ix_refund_reveal_contact", "workspace_id", "contact_id", "email_key"),
        Index("ix_refund_reveal_employer", "workspace_id", "employer_domain", "revealed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=200)
    reveal_id: str = Field(max_length=200)
    contact_id: str = Field(max_length=200)
    email: str = Field(max_length=320)
    email_key: str = Field(max_length=320)  # lower-cased, what bounces are matched on
    first_name: str = Field(max_length=200)
    last_name: str = Field(max_length=200)
    employer_domain: str = Field(max_length=255)
    employer_name: str | None = Field(default=None, max_length=300)
    credits: int
    recommended: bool
    revealed_at: datetime = Field(sa_type=UtcDateTime)


class RefundBounce(SQLModel, table=True):
    """A bounce seen for a contact; ``reveal_id`` is set once it is matched to the reveal of its address."""

    __tablename__ = "refund_bounce"
    __table_args__ = (
        UniqueConstraint("workspace_id", "bounce_id", name="uq_refund_bounce_workspace_bounce"),
        Index("ix_refund_bounce_contact", "workspace_id", "contact_id", "recipient_key"),
        Index("ix_refund_bounce_employer", "workspace_id", "employer_domain", "bounced_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=200)
    bounce_id: str = Field(max_length=200)
    contact_id: str = Field(max_length=200)
    recipient_key: str = Field(max_length=320)
    category: str = Field(max_length=40)
    reason: str = Field(max_length=100)
    bounced_at: datetime = Field(sa_type=UtcDateTime)
    reveal_id: str | None = Field(default=None, max_length=200)
    employer_domain: str | None = Field(default=None, max_length=255)


class RefundRecord(SQLModel, table=True):
    """The one refund record of a reveal (ARCHITECTURE 5, Refund)."""

    __tablename__ = "refund_record"
    __table_args__ = (
        UniqueConstraint("workspace_id", "reveal_id", name="uq_refund_record_workspace_reveal"),
        Index("ix_refund_record_list", "workspace_id", "created_at", "refund_id"),
        Index("ix_refund_record_contact", "workspace_id", "contact_id"),
        Index("ix_refund_record_status", "workspace_id", "status"),
    )
    refund_id: str = Field(primary_key=True, max_length=64)
    workspace_id: str = Field(max_length=200)
    reveal_id: str = Field(max_length=200)
    contact_id: str = Field(max_length=200)
    email: str = Field(max_length=320)
    bounce_id: str = Field(max_length=200)
    status: str = Field(max_length=20)
    basis: str = Field(max_length=20)
    explanation: str = Field(max_length=1000)
    credits: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    requested_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    requested_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    decided_by: str | None = Field(default=None, max_length=200)


class RefundEmployerSpike(SQLModel, table=True):
    """An ``employer.bounce_spike`` already emitted: the unique key allows one per employer and period."""

    __tablename__ = "refund_employer_spike"
    __table_args__ = (
        UniqueConstraint(
            "workspace_id", "employer_domain", "period_start", name="uq_refund_employer_spike_period"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = Field(max_length=200)
    employer_domain: str = Field(max_length=255)
    period_start: datetime = Field(sa_type=UtcDateTime)
    detected_at: datetime = Field(sa_type=UtcDateTime)
    hard_bounces: int
    distinct_contacts: int
    reveals: int
    rate: float
