"""Pure thread rules: which labels a message carries, which bounce it shows, which message is latest.

Every choice here is a total order over the inputs, so the stored state after a set of events is the
same whatever order the broker delivered them in, and redelivering any of them changes nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from seevee_shared.events import LABEL_BOUNCED, LABEL_COMPLAINED, MessageBounced, MessageSent

BOUNCED = LABEL_BOUNCED
COMPLAINED = LABEL_COMPLAINED
LABELS: tuple[str, ...] = (BOUNCED, COMPLAINED)


@dataclass(frozen=True)
class BounceDetail:
    """What the thread shows about one bounce of a message."""

    bounce_id: str
    category: str
    reason: str
    permanent: bool
    bounced_at: datetime
    diagnostic: str | None = None
    smtp_status: str | None = None


@dataclass(frozen=True)
class MessageStamp:
    """The part of a message that decides which one is the thread's latest."""

    message_id: str
    sent_at: datetime


def _bounce_rank(bounce: BounceDetail) -> tuple[bool, datetime, str]:
    return (bounce.permanent, bounce.bounced_at, bounce.bounce_id)


def prevailing_bounce(current: BounceDetail | None, incoming: BounceDetail) -> BounceDetail:
    """The bounce a message shows: a permanent one over a temporary one, then the latest, then by id.

    A permanent bounce is the final word on a message, so a later soft report (a provider's delayed
    retry notice) never hides it; among equals the latest report wins, and the bounce id breaks exact
    ties so that the outcome never depends on arrival order.
    """
    if current is None:
        return incoming
    return incoming if _bounce_rank(incoming) > _bounce_rank(current) else current


def merge_labels(existing: Iterable[str], label: str) -> tuple[tuple[str, ...], bool]:
    """The message's labels with ``label`` added, in a stable order, and whether it was new."""
    current = set(existing)
    added = label not in current
    current.add(label)
    return ordered_labels(current), added


def ordered_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """Known labels in their product order, any others after them alphabetically."""
    unique = set(labels)
    known = tuple(label for label in LABELS if label in unique)
    return known + tuple(sorted(unique - set(LABELS)))


def _stamp_rank(stamp: MessageStamp) -> tuple[datetime, str]:
    return (stamp.sent_at, stamp.message_id)


def is_newer(candidate: MessageStamp, current: MessageStamp | None) -> bool:
    """Whether ``candidate`` replaces ``current`` as the thread's latest message.

    Newest by sent_at, not by arrival; equal times fall back to the message id so the choice is stable.
    """
    return current is None or _stamp_rank(candidate) > _stamp_rank(current)


def latest_message(messages: Iterable[MessageStamp]) -> MessageStamp | None:
    """The thread's latest message, or None for a thread with no messages."""
    latest: MessageStamp | None = None
    for stamp in messages:
        if is_newer(stamp, latest):
            latest = stamp
    return latest


def bounce_detail(bounced: MessageBounced) -> BounceDetail:
    return BounceDetail(
        bounce_id=bounced.bounce_id,
        category=bounced.category,
        reason=bounced.reason,
        permanent=bounced.permanent,
        bounced_at=bounced.bounced_at,
        diagnostic=bounced.diagnostic,
        smtp_status=bounced.smtp_status,
    )


# The rows as plain objects (their fields are the columns of ``models``).


@dataclass
class Thread:
    workspace_id: str
    thread_id: str
    contact_id: str
    latest_message_id: str
    latest_sent_at: datetime
    created_at: datetime
    updated_at: datetime

    def place(self, stamp: MessageStamp, now: datetime) -> None:
        """A message joins the thread; it becomes the latest only if it is newer (see ``is_newer``)."""
        if is_newer(stamp, MessageStamp(self.latest_message_id, self.latest_sent_at)):
            self.latest_message_id = stamp.message_id
            self.latest_sent_at = stamp.sent_at
        self.updated_at = now


@dataclass
class Message:
    workspace_id: str
    message_id: str
    thread_id: str
    contact_id: str
    recipient: str
    subject: str | None
    sent_at: datetime
    bounce_id: str | None
    bounce_category: str | None
    bounce_reason: str | None
    bounce_permanent: bool | None
    bounce_diagnostic: str | None
    bounce_smtp_status: str | None
    bounced_at: datetime | None
    created_at: datetime

    def shown_bounce(self) -> BounceDetail | None:
        """The bounce the message currently shows, if any."""
        if (
            self.bounce_id is None
            or self.bounce_category is None
            or self.bounce_reason is None
            or self.bounced_at is None
        ):
            return None
        return BounceDetail(
            bounce_id=self.bounce_id,
            category=self.bounce_category,
            reason=self.bounce_reason,
            permanent=bool(self.bounce_permanent),
            bounced_at=self.bounced_at,
            diagnostic=self.bounce_diagnostic,
            smtp_status=self.bounce_smtp_status,
        )

    def show(self, bounce: BounceDetail) -> None:
        self.bounce_id = bounce.bounce_id
        self.bounce_category = bounce.category
        self.bounce_reason = bounce.reason
        self.bounce_permanent = bounce.permanent
        self.bounced_at = bounce.bounced_at
        self.bounce_diagnostic = bounce.diagnostic
        self.bounce_smtp_status = bounce.smtp_status


@dataclass
class MessageLabel:
    workspace_id: str
    message_id: str
    label: str
    thread_id: str
    applied_at: datetime


@dataclass
class PendingSignal:
    """A bounce or complaint held until its message is sent (``data`` is the event's payload)."""

    workspace_id: str
    event_id: str
    message_id: str
    topic: str
    data: dict[str, Any]
    received_at: datetime


def new_message(workspace_id: str, sent: MessageSent, now: datetime) -> Message:
    return Message(
        workspace_id=workspace_id,
        message_id=sent.message_id,
        thread_id=sent.thread_id,
        contact_id=sent.contact_id,
        recipient=sent.recipient,
        subject=sent.subject,
        sent_at=sent.sent_at,
        bounce_id=None,
        bounce_category=None,
        bounce_reason=None,
        bounce_permanent=None,
        bounce_diagnostic=None,
        bounce_smtp_status=None,
        bounced_at=None,
        created_at=now,
    )


def new_thread(message: Message, now: datetime) -> Thread:
    return Thread(
        workspace_id=message.workspace_id,
        thread_id=message.thread_id,
        contact_id=message.contact_id,
        latest_message_id=message.message_id,
        latest_sent_at=message.sent_at,
        created_at=now,
        updated_at=now,
    )
