"""The tables bounce-ingest owns: bounces, complaints, the sent messages it correlates to, replay tokens."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from bounce_ingest.domain import BOUNCE_MATCHED as BOUNCE_MATCHED
from bounce_ingest.domain import BOUNCE_PENDING as BOUNCE_PENDING
from bounce_ingest.domain import BOUNCE_UNMATCHED as BOUNCE_UNMATCHED
from seevee_shared.db import UtcDateTime


class IngestSentMessage(SQLModel, table=True):
    """Every outbound message (from ``message.sent``), indexed by each key a bounce may carry."""

    __tablename__ = "ingest_sent_messages"
    __table_args__ = (Index("ix_ingest_sent_messages_recipient_sent_at", "recipient", "sent_at"),)

    message_id: str = Field(primary_key=True)
    workspace_id: str = Field(index=True)
    thread_id: str
    contact_id: str
    run_id: str | None = None
    run_step: int | None = None
    recipient: str
    sender_mailbox: str | None = None
    provider: str
    provider_message_id: str | None = Field(default=None, index=True)
    smtp_message_id: str | None = Field(default=None, index=True)
    sent_at: datetime = Field(sa_type=UtcDateTime)


class IngestBounce(SQLModel, table=True):
    """One bounce per (provider, provider event, recipient); ids and workspace are set once it matches."""

    __tablename__ = "ingest_bounces"
    __table_args__ = (
        Index("ix_ingest_bounces_status_received_at", "status", "received_at"),
        Index("ix_ingest_bounces_workspace_received", "workspace_id", "received_at", "bounce_id"),
    )

    bounce_id: str = Field(primary_key=True)
    workspace_id: str | None = Field(default=None)
    status: str
    message_id: str | None = Field(default=None, index=True)
    thread_id: str | None = None
    contact_id: str | None = Field(default=None, index=True)
    run_id: str | None = None
    run_step: int | None = None
    recipient: str = Field(index=True)
    category: str
    reason: str
    permanent: bool
    smtp_code: int | None = None
    smtp_status: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    provider: str
    provider_event_id: str
    matched_by: str | None = None
    bounced_at: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)
    seevee_message_id: str | None = Field(default=None, index=True)
    provider_message_id: str | None = Field(default=None, index=True)
    smtp_message_id: str | None = Field(default=None, index=True)
    workspace_scope: str | None = None
    """The workspace that reported it (a bounce email posted with its token): the only one it may match."""


class IngestComplaint(SQLModel, table=True):
    """One spam complaint per (provider, provider event, recipient), matched like a bounce."""

    __tablename__ = "ingest_complaints"
    __table_args__ = (Index("ix_ingest_complaints_status_received_at", "status", "received_at"),)

    complaint_id: str = Field(primary_key=True)
    workspace_id: str | None = Field(default=None)
    status: str
    message_id: str | None = Field(default=None, index=True)
    thread_id: str | None = None
    contact_id: str | None = None
    run_id: str | None = None
    recipient: str = Field(index=True)
    provider: str
    provider_event_id: str
    feedback_type: str | None = None
    matched_by: str | None = None
    complained_at: datetime = Field(sa_type=UtcDateTime)
    received_at: datetime = Field(sa_type=UtcDateTime)
    seevee_message_id: str | None = Field(default=None, index=True)
    provider_message_id: str | None = Field(default=None, index=True)
    smtp_message_id: str | None = Field(default=None, index=True)
    workspace_scope: str | None = None


class IngestReplayToken(SQLModel, table=True):
    """Used signature tokens (Mailgun): a token may come back only with the same body, until it expires."""

    __tablename__ = "ingest_replay_tokens"

    token: str = Field(primary_key=True)
    fingerprint: str
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)
