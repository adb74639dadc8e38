"""The event contract (ARCHITECTURE section 3): one pydantic model per topic, exactly its fields.

Consumers ignore unknown fields, so every model allows extras on input; producers only ever set the
fields listed here. A breaking change is a new major ``dataschema``, published beside the old one.
"""

import uuid
from enum import StrEnum
from typing import ClassVar, Final, Literal, get_args

import pydantic
from pydantic import BaseModel, ConfigDict

from seevee_shared.ids import name_id


class Topic(StrEnum):
    MESSAGE_SENT = "message.sent"
    CONTACT_REVEALED = "contact.revealed"
    MESSAGE_BOUNCED = "message.bounced"
    MESSAGE_COMPLAINED = "message.complained"
    BOUNCE_UNMATCHED = "bounce.unmatched"
    RUN_STEP_DUE = "run.step_due"
    RUN_PAUSED = "run.paused"
    RUN_RESUMED = "run.resumed"
    RUN_STOPPED = "run.stopped"
    TASK_CREATED = "task.created"
    THREAD_MESSAGE_LABELED = "thread.message_labeled"
    REFUND_ELIGIBILITY_RECORDED = "refund.eligibility_recorded"
    REFUND_DECIDED = "refund.decided"
    EMPLOYER_BOUNCE_SPIKE = "employer.bounce_spike"


def dlq_topic(group: str) -> str:
    """The dead-letter topic of a consumer group."""
    return f"dlq.{group}"


CONSUMER_GROUPS = ("bounce-ingest", "run-orchestrator", "task-service", "thread-service", "refund-service")

Category = Literal["mailbox_unknown", "temporary", "spam_policy"]
MatchedBy = Literal["message_id", "provider_message_id", "smtp_message_id", "recipient"]
RunCause = Literal["bounce", "user", "bulk", "policy", "complaint"]
RefundStatus = Literal["eligible", "needs_review", "ineligible", "requested", "approved", "denied"]
RefundBasis = Literal[
    "dead_domain", "name_mismatch", "mailbox_unknown", "temporary", "spam_policy", "outside_window"
]


class BounceCategory:
    """The three bounce categories (ARCHITECTURE 4): the one spelling every service uses."""

    MAILBOX_UNKNOWN: Final = "mailbox_unknown"
    TEMPORARY: Final = "temporary"
    SPAM_POLICY: Final = "spam_policy"
    ALL: Final[tuple[Category, ...]] = get_args(Category)


class MatchedKey:
    """Which key correlated a bounce to its message, in the order they are tried."""

    MESSAGE_ID: Final = "message_id"
    PROVIDER_MESSAGE_ID: Final = "provider_message_id"
    SMTP_MESSAGE_ID: Final = "smtp_message_id"
    RECIPIENT: Final = "recipient"
    ALL: Final[tuple[MatchedBy, ...]] = get_args(MatchedBy)


class Cause:
    """Why a run was paused, resumed or stopped."""

    BOUNCE: Final = "bounce"
    USER: Final = "user"
    BULK: Final = "bulk"
    POLICY: Final = "policy"
    COMPLAINT: Final = "complaint"
    ALL: Final[tuple[RunCause, ...]] = get_args(RunCause)


class RefundState:
    """The statuses of a refund record."""

    ELIGIBLE: Final = "eligible"
    NEEDS_REVIEW: Final = "needs_review"
    INELIGIBLE: Final = "ineligible"
    REQUESTED: Final = "requested"
    APPROVED: Final = "approved"
    DENIED: Final = "denied"
    ALL: Final[tuple[RefundStatus, ...]] = get_args(RefundStatus)


class Basis:
    """Why a refund record has its status."""

    DEAD_DOMAIN: Final = "dead_domain"
    NAME_MISMATCH: Final = "name_mismatch"
    MAILBOX_UNKNOWN: Final = "mailbox_unknown"
    TEMPORARY: Final = "temporary"
    SPAM_POLICY: Final = "spam_policy"
    OUTSIDE_WINDOW: Final = "outside_window"
    ALL: Final[tuple[RefundBasis, ...]] = get_args(RefundBasis)


LABEL_BOUNCED: Final = "bounced"
LABEL_COMPLAINED: Final = "complained"
"""The labels ``thread.message_labeled`` carries."""


AwareDatetime = pydantic.AwareDatetime
"""Times must carry a timezone (RFC 3339); checked in pydantic's Rust core, no Python call per value."""

_BOUNCE_NAMESPACE = uuid.UUID("6f1d8f57-3b0c-5a8e-9d8e-2f9a0c7b5e11")


def bounce_id_for(provider: str, provider_event_id: str, recipient: str) -> str:
    """UUIDv5 of provider + event id + recipient: a provider's retry can never become a second bounce."""
    name = f"{provider.lower()}\x1f{provider_event_id}\x1f{recipient.strip().lower()}"
    return name_id(_BOUNCE_NAMESPACE, name)


class EventData(BaseModel):
    """Base of every event payload; ``topic`` names the Kafka topic and the CloudEvent type."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    topic: ClassVar[str]
    major: ClassVar[int] = 1


class MessageSent(EventData):
    topic: ClassVar[str] = Topic.MESSAGE_SENT
    message_id: str
    thread_id: str
    contact_id: str
    run_id: str | None = None
    run_step: int | None = None
    recipient: str
    sender_mailbox: str
    provider: str
    provider_message_id: str | None = None
    smtp_message_id: str
    subject: str | None = None
    sent_at: AwareDatetime


class ContactRevealed(EventData):
    topic: ClassVar[str] = Topic.CONTACT_REVEALED
    reveal_id: str
    contact_id: str
    email: str
    first_name: str
    last_name: str
    employer_domain: str
    employer_name: str | None = None
    credits: int
    recommended: bool
    revealed_at: AwareDatetime


class MessageBounced(EventData):
    topic: ClassVar[str] = Topic.MESSAGE_BOUNCED
    bounce_id: str
    message_id: str
    thread_id: str
    contact_id: str
    run_id: str | None = None
    run_step: int | None = None
    recipient: str
    category: Category
    reason: str
    permanent: bool
    smtp_code: int | None = None
    smtp_status: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    provider: str
    provider_event_id: str
    matched_by: MatchedBy
    bounced_at: AwareDatetime


class MessageComplained(EventData):
    topic: ClassVar[str] = Topic.MESSAGE_COMPLAINED
    message_id: str
    thread_id: str
    contact_id: str
    run_id: str | None = None
    recipient: str
    provider: str
    feedback_type: str | None = None
    complained_at: AwareDatetime


class BounceUnmatched(EventData):
    """A bounce whose message never showed up: the ids it could not resolve are null."""

    topic: ClassVar[str] = Topic.BOUNCE_UNMATCHED
    bounce_id: str
    message_id: str | None = None
    thread_id: str | None = None
    contact_id: str | None = None
    run_id: str | None = None
    run_step: int | None = None
    recipient: str
    category: Category
    reason: str
    permanent: bool
    smtp_code: int | None = None
    smtp_status: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    provider: str
    provider_event_id: str
    matched_by: MatchedBy | None = None
    bounced_at: AwareDatetime
    smtp_message_id: str | None = None
    provider_message_id: str | None = None


class RunStepDue(EventData):
    topic: ClassVar[str] = Topic.RUN_STEP_DUE
    run_id: str
    contact_id: str
    thread_id: str
    step: int
    recipient: str
    sender_mailbox: str
    due_at: AwareDatetime


class _RunLifecycle(EventData):
    run_id: str
    contact_id: str
    thread_id: str
    step: int
    cause: RunCause
    bounce_id: str | None = None
    at: AwareDatetime


class RunPaused(_RunLifecycle):
    topic: ClassVar[str] = Topic.RUN_PAUSED


class RunResumed(_RunLifecycle):
    topic: ClassVar[str] = Topic.RUN_RESUMED


class RunStopped(_RunLifecycle):
    topic: ClassVar[str] = Topic.RUN_STOPPED


class TaskCreated(EventData):
    topic: ClassVar[str] = Topic.TASK_CREATED
    task_id: str
    contact_id: str
    thread_id: str
    message_id: str
    bounce_id: str
    category: Category
    recommended_action: str
    due_at: AwareDatetime


class ThreadMessageLabeled(EventData):
    topic: ClassVar[str] = Topic.THREAD_MESSAGE_LABELED
    thread_id: str
    message_id: str
    label: str
    category: Category | None = None
    reason: str | None = None


class _RefundRecord(EventData):
    refund_id: str
    reveal_id: str
    contact_id: str
    bounce_id: str
    status: RefundStatus
    basis: RefundBasis
    credits: int
    decided_by: str | None = None


class RefundEligibilityRecorded(_RefundRecord):
    topic: ClassVar[str] = Topic.REFUND_ELIGIBILITY_RECORDED


class RefundDecided(_RefundRecord):
    topic: ClassVar[str] = Topic.REFUND_DECIDED


class EmployerBounceSpike(EventData):
    topic: ClassVar[str] = Topic.EMPLOYER_BOUNCE_SPIKE
    employer_domain: str
    window_days: int
    hard_bounces: int
    distinct_contacts: int
    reveals: int
    rate: float
    detected_at: AwareDatetime


EVENT_MODELS: dict[str, type[EventData]] = {
    model.topic: model
    for model in (
        MessageSent,
        ContactRevealed,
        MessageBounced,
        MessageComplained,
        BounceUnmatched,
        RunStepDue,
        RunPaused,
        RunResumed,
        RunStopped,
        TaskCreated,
        ThreadMessageLabeled,
        RefundEligibilityRecorded,
        RefundDecided,
        EmployerBounceSpike,
    )
}

ALL_TOPICS: tuple[str, ...] = tuple(Topic) + tuple(dlq_topic(group) for group in CONSUMER_GROUPS)
