"""message.bounced: label the bounced message and show the bounce, or hold it until the message is sent."""

from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced
from thread_service import domain
from thread_service.labelling import apply_bounces
from thread_service.store import ThreadStore


async def on_message_bounced(bounced: MessageBounced, meta: EventMeta, store: ThreadStore) -> None:
    message = await store.message(meta.workspace_id, bounced.message_id)
    if message is None:
        await store.keep_pending(
            domain.PendingSignal(
                workspace_id=meta.workspace_id,
                event_id=meta.id,
                message_id=bounced.message_id,
                topic=meta.topic,
                data=bounced.model_dump(mode="json"),
                received_at=utcnow(),
            )
        )
        return
    apply_bounces(store, message, [bounced])
