"""The one place the thread-service's reactions are registered, by topic."""

from seevee_shared.bus import Handler
from seevee_shared.events import Topic
from thread_service.on_message_bounced import on_message_bounced
from thread_service.on_message_complained import on_message_complained
from thread_service.on_message_sent import on_message_sent

HANDLERS: dict[str, Handler] = {
    Topic.MESSAGE_SENT: on_message_sent,
    Topic.MESSAGE_BOUNCED: on_message_bounced,
    Topic.MESSAGE_COMPLAINED: on_message_complained,
}
