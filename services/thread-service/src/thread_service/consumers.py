"""The one place the thread-service's reactions are registered, by topic, with what a poll loads first."""

from functools import partial

from seevee_shared.bus import Handler
from seevee_shared.bus.consumer import PrefetchingHandler
from seevee_shared.events import Topic
from thread_service import store
from thread_service.domain import BOUNCED, COMPLAINED
from thread_service.on_message_bounced import on_message_bounced
from thread_service.on_message_complained import on_message_complained
from thread_service.on_message_sent import on_message_sent

HANDLERS: dict[str, Handler] = {
    Topic.MESSAGE_SENT: on_message_sent,
    Topic.MESSAGE_BOUNCED: PrefetchingHandler(on_message_bounced, partial(store.prefetch, labels=(BOUNCED,))),
    Topic.MESSAGE_COMPLAINED: PrefetchingHandler(
        on_message_complained, partial(store.prefetch, labels=(COMPLAINED,))
    ),
}
