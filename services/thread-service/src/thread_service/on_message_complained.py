"""message.complained: label the message ``complained``, or hold the complaint until the message is sent."""

from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageComplained, Topic
from thread_service import store
from thread_service.labelling import apply_complaint


async def on_message_complained(session: AsyncSession, event: CloudEvent) -> None:
    complained: MessageComplained = event.data_as(MessageComplained)
    workspace_id = event.workspaceid
    await store.lock(session, workspace_id, "message", complained.message_id)
    message = await store.find_message(session, workspace_id, complained.message_id)
    if message is None:
        await store.keep_pending(
            session, workspace_id, event.id, complained.message_id, Topic.MESSAGE_COMPLAINED, event.data
        )
        return
    await apply_complaint(session, message, complained)
