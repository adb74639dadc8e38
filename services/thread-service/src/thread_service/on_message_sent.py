"""message.sent: the message joins its thread (created on first use), and waiting signals land on it."""

from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent, Topic
from thread_service import domain
from thread_service.domain import MessageStamp
from thread_service.labelling import apply_bounces, apply_complaint
from thread_service.store import ThreadStore


async def on_message_sent(sent: MessageSent, meta: EventMeta, store: ThreadStore) -> None:
    workspace_id = meta.workspace_id
    if await store.message(workspace_id, sent.message_id) is not None:
        return  # the same send published again: the first record stands
    now = utcnow()
    message = domain.new_message(workspace_id, sent, now)
    store.add_message(message)
    thread = await store.thread(workspace_id, message.thread_id)
    if thread is None:
        store.add_thread(domain.new_thread(message, now))
    else:
        thread.place(MessageStamp(message.message_id, message.sent_at), now)
        store.changed(thread)
    waiting = await store.take_pending(workspace_id, message.message_id)
    bounces = [MessageBounced.model_validate(s.data) for s in waiting if s.topic == Topic.MESSAGE_BOUNCED]
    if bounces:
        apply_bounces(store, message, bounces)
    for signal in waiting:
        if signal.topic == Topic.MESSAGE_COMPLAINED:
            apply_complaint(store, message, MessageComplained.model_validate(signal.data))
