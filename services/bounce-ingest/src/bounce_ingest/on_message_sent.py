"""``message.sent``: remember the message, then match the bounces and complaints that were waiting for it."""

from bounce_ingest.correlation import keys_of_bounce, keys_of_complaint
from bounce_ingest.domain import SentMessage, normalize_message_id, normalize_recipient
from bounce_ingest.publishing import (
    bounce_facts,
    bounced_cloud_event,
    complained_cloud_event,
    mark_bounce_matched,
)
from bounce_ingest.store import IngestStore
from seevee_shared.bus import EventMeta
from seevee_shared.events import MessageSent


async def on_message_sent(sent: MessageSent, meta: EventMeta, store: IngestStore) -> None:
    """Store the message (once); correlate only when a bounce or complaint may be waiting for it."""
    message = await store.sent_message(sent.message_id)
    if message is None:
        message = SentMessage(
            message_id=sent.message_id,
            workspace_id=meta.workspace_id,
            thread_id=sent.thread_id,
            contact_id=sent.contact_id,
            run_id=sent.run_id,
            run_step=sent.run_step,
            recipient=normalize_recipient(sent.recipient),
            sender_mailbox=sent.sender_mailbox,
            provider=sent.provider,
            provider_message_id=normalize_message_id(sent.provider_message_id),
            smtp_message_id=normalize_message_id(sent.smtp_message_id),
            sent_at=sent.sent_at,
        )
        store.remember(message)
    if not await store.anything_waiting(message):
        return
    bounces = await store.waiting_bounces(message)
    for bounce, match in zip(bounces, await store.matches([keys_of_bounce(b) for b in bounces]), strict=True):
        if match is not None:
            mark_bounce_matched(bounce, match)
            store.changed(bounce)
            store.publish(bounced_cloud_event(bounce_facts(bounce), match))
    complaints = await store.waiting_complaints(message)
    keys = [keys_of_complaint(complaint) for complaint in complaints]
    for complaint, match in zip(complaints, await store.matches(keys), strict=True):
        if match is not None:
            store.publish(complained_cloud_event(complaint, match))
            store.changed(complaint)
