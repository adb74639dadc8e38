"""message.complained: label the message ``complained``, or hold the complaint until the message is sent."""

from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.events import MessageComplained
from thread_service import domain
from thread_service.labelling import apply_complaint
from thread_service.store import ThreadStore


async def on_message_complained(complained: MessageComplained, meta: EventMeta, store: ThreadStore) -> None:
    message = await store.message(meta.workspace_id, complained.message_id)
    if message is None:
        await store.keep_pending(
            domain.PendingSignal(
                workspace_id=meta.workspace_id,
                event_id=meta.id,
                message_id=complained.message_id,
                topic=meta.topic,
                data=complained.model_dump(mode="json"),
                received_at=utcnow(),
            )
        )
        return
    apply_complaint(store, message, complained)
