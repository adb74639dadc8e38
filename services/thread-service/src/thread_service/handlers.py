"""The one place the thread-service registers what it consumes: topic -> payload model -> handler."""

from seevee_shared.bus import Handlers, on
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent, Topic
from thread_service.on_message_bounced import on_message_bounced
from thread_service.on_message_complained import on_message_complained
from thread_service.on_message_sent import on_message_sent
from thread_service.settings import ThreadSettings
from thread_service.store import ThreadStore


def handlers(settings: ThreadSettings | None = None) -> Handlers[ThreadStore]:
    return Handlers(
        store=ThreadStore,
        topics={
            Topic.MESSAGE_SENT: on(MessageSent, on_message_sent),
            Topic.MESSAGE_BOUNCED: on(MessageBounced, on_message_bounced),
            Topic.MESSAGE_COMPLAINED: on(MessageComplained, on_message_complained),
        },
    )
