"""The Thread resource as the API shows it (ARCHITECTURE section 5), built from stored rows."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel

from thread_service.domain import Message, MessageStamp, Thread, latest_message


class BounceView(BaseModel):
    bounce_id: str
    category: str
    reason: str
    permanent: bool
    diagnostic: str | None
    smtp_status: str | None
    bounced_at: datetime


class MessageView(BaseModel):
    message_id: str
    sent_at: datetime
    recipient: str
    subject: str | None
    labels: list[str]
    bounce: BounceView | None


class ThreadView(BaseModel):
    thread_id: str
    contact_id: str
    latest_message: MessageView
    messages: list[MessageView]
    created_at: datetime
    updated_at: datetime


def message_view(message: Message, labels: Sequence[str]) -> MessageView:
    bounce = message.shown_bounce()
    return MessageView(
        message_id=message.message_id,
        sent_at=message.sent_at,
        recipient=message.recipient,
        subject=message.subject,
        labels=list(labels),
        bounce=None
        if bounce is None
        else BounceView(
            bounce_id=bounce.bounce_id,
            category=bounce.category,
            reason=bounce.reason,
            permanent=bounce.permanent,
            diagnostic=bounce.diagnostic,
            smtp_status=bounce.smtp_status,
            bounced_at=bounce.bounced_at,
        ),
    )


def thread_view(
    thread: Thread, messages: Sequence[Message], labels: Mapping[str, Sequence[str]]
) -> ThreadView:
    """Messages oldest first, as the conversation reads; ``messages`` are the thread's (at least one)."""
    views = [
        message_view(message, labels.get(message.message_id, ()))
        for message in sorted(messages, key=lambda m: (m.sent_at, m.message_id))
    ]
    newest = latest_message(MessageStamp(view.message_id, view.sent_at) for view in views)
    latest = next(view for view in views if newest is not None and view.message_id == newest.message_id)
    return ThreadView(
        thread_id=thread.thread_id,
        contact_id=thread.contact_id,
        latest_message=latest,
        messages=views,
        created_at=thread.created_at,
        updated_at=thread.updated_at,
    )
