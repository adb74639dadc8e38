"""message.sent: the message joins its thread (created on first use), and waiting signals land on it."""

from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent, Topic
from thread_service import store
from thread_service.domain import MessageStamp, is_newer
from thread_service.labelling import apply_bounces, apply_complaint
from thread_service.models import Thread, ThreadMessage


async def on_message_sent(session: AsyncSession, event: CloudEvent) -> None:
    sent: MessageSent = event.data_as(MessageSent)
    workspace_id = event.workspaceid
    await store.lock(session, workspace_id, "message", sent.message_id)
    if await store.find_message(session, workspace_id, sent.message_id) is not None:
        return  # the same send published again: the first record stands
    message = ThreadMessage(
        workspace_id=workspace_id,
        message_id=sent.message_id,
        thread_id=sent.thread_id,
        contact_id=sent.contact_id,
        recipient=sent.recipient,
        subject=sent.subject,
        sent_at=sent.sent_at,
    )
    store.add_message(session, message)
    await _place_in_thread(session, message)
    await session.flush()
    await _apply_waiting_signals(session, message)


async def _place_in_thread(session: AsyncSession, message: ThreadMessage) -> None:
    await store.lock(session, message.workspace_id, "thread", message.thread_id)
    thread = await session.get(Thread, (message.workspace_id, message.thread_id))
    stamp = MessageStamp(message.message_id, message.sent_at)
    if thread is None:
        session.add(
            Thread(
                workspace_id=message.workspace_id,
                thread_id=message.thread_id,
                contact_id=message.contact_id,
                latest_message_id=stamp.message_id,
                latest_sent_at=stamp.sent_at,
            )
        )
        return
    if is_newer(stamp, MessageStamp(thread.latest_message_id, thread.latest_sent_at)):
        thread.latest_message_id = stamp.message_id
        thread.latest_sent_at = stamp.sent_at
    thread.updated_at = utcnow()
    session.add(thread)


async def _apply_waiting_signals(session: AsyncSession, message: ThreadMessage) -> None:
    """Bounces and complaints that arrived before this send, held until now."""
    waiting = await store.take_pending(session, message.workspace_id, message.message_id)
    bounces = [
        MessageBounced.model_validate(signal.data)
        for signal in waiting
        if signal.topic == Topic.MESSAGE_BOUNCED
    ]
    if bounces:
        await apply_bounces(session, message, bounces)
    for signal in waiting:
        if signal.topic == Topic.MESSAGE_COMPLAINED:
            await apply_complaint(session, message, MessageComplained.model_validate(signal.data))
