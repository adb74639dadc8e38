"""message.bounced: label the bounced message and show the bounce, or hold it until the message is sent."""

from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageBounced, Topic
from thread_service import store
from thread_service.labelling import apply_bounces


async def on_message_bounced(session: AsyncSession, event: CloudEvent) -> None:
    bounced: MessageBounced = event.data_as(MessageBounced)
    workspace_id = event.workspaceid
    await store.lock(session, workspace_id, "message", bounced.message_id)
    message = await store.find_message(session, workspace_id, bounced.message_id)
    if message is None:
        await store.keep_pending(
            session, workspace_id, event.id, bounced.message_id, Topic.MESSAGE_BOUNCED, event.data
        )
        return
    await apply_bounces(session, message, [bounced])
