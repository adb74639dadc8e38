"""Putting a bounce or a complaint on a stored message, and announcing each label the first time.

Shared by the bounce and complaint handlers and by ``message.sent`` (for the signals that waited).
"""

from collections.abc import Sequence

from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced, MessageComplained
from thread_service import domain, events_out
from thread_service.domain import BOUNCED, COMPLAINED, bounce_detail, prevailing_bounce
from thread_service.store import ThreadStore


def apply_bounces(store: ThreadStore, message: domain.Message, bounces: Sequence[MessageBounced]) -> None:
    """Show the prevailing bounce on the message and label it ``bounced`` (announced once)."""
    shown = message.shown_bounce()
    chosen = shown
    for bounced in bounces:
        chosen = prevailing_bounce(chosen, bounce_detail(bounced))
    if chosen is None:
        return
    if chosen != shown:
        message.show(chosen)
        store.changed(message)
    _label(store, message, BOUNCED, category=chosen.category, reason=chosen.reason)


def apply_complaint(store: ThreadStore, message: domain.Message, complained: MessageComplained) -> None:
    """Label the message ``complained`` (announced once); the feedback type, if any, is the reason."""
    _label(store, message, COMPLAINED, category=None, reason=complained.feedback_type)


def _label(
    store: ThreadStore, message: domain.Message, label: str, *, category: str | None, reason: str | None
) -> None:
    if store.add_label(message, label, utcnow()):
        store.publish(events_out.message_labeled(message, label, category=category, reason=reason))
