"""``message.sent``: remember the message, then match the bounces and complaints that were waiting for it."""

from bounce_ingest import events_out
from bounce_ingest.domain import (
    SentMessage,
    facts_of,
    keys_of_bounce,
    keys_of_complaint,
    matched_columns,
    normalize_message_id,
    normalize_recipient,
    settle,
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
            settle(bounce, matched_columns(match))
            store.changed(bounce)
            store.publish(events_out.bounced(facts_of(bounce), match))
    complaints = await store.waiting_complaints(message)
    keys = [keys_of_complaint(complaint) for complaint in complaints]
    for complaint, match in zip(complaints, await store.matches(keys), strict=True):
        if match is not None:
            settle(complaint, matched_columns(match, with_step=False))
            store.changed(complaint)
            store.publish(events_out.complained(complaint, match))
