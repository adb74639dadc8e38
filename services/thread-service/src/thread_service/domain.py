"""Pure thread rules: which labels a message carries, which bounce it shows, which message is latest.

Every choice here is a total order over the inputs, so the stored state after a set of events is the
same whatever order the broker delivered them in, and redelivering any of them changes nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

BOUNCED = "bounced"
COMPLAINED = "complained"
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
