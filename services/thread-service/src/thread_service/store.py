"""Reads and writes of the thread tables that the handlers share."""

from collections.abc import Sequence

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.db import utcnow
from thread_service.domain import BounceDetail, ordered_labels
from thread_service.models import ThreadMessage, ThreadMessageLabel, ThreadPendingSignal


async def lock(session: AsyncSession, *parts: str) -> None:
    """Serialize writers of one message or thread until the transaction ends.

    A bounce and its ``message.sent`` come from different topics and may be handled at the same time;
    without this, each could miss the other's uncommitted row and the bounce would wait forever.
    SQLite needs nothing: its transactions begin IMMEDIATE, so writers already queue.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        key = "\x1f".join(("thread-service", *parts))
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


async def find_message(session: AsyncSession, workspace_id: str, message_id: str) -> ThreadMessage | None:
    return await session.get(ThreadMessage, (workspace_id, message_id))


def shown_bounce(message: ThreadMessage) -> BounceDetail | None:
    """The bounce the message currently shows, if any."""
    if (
        message.bounce_id is None
        or message.bounce_category is None
        or message.bounce_reason is None
        or message.bounced_at is None
    ):
        return None
    return BounceDetail(
        bounce_id=message.bounce_id,
        category=message.bounce_category,
        reason=message.bounce_reason,
        permanent=bool(message.bounce_permanent),
        bounced_at=message.bounced_at,
        diagnostic=message.bounce_diagnostic,
        smtp_status=message.bounce_smtp_status,
    )


def show_bounce(message: ThreadMessage, bounce: BounceDetail) -> None:
    message.bounce_id = bounce.bounce_id
    message.bounce_category = bounce.category
    message.bounce_reason = bounce.reason
    message.bounce_permanent = bounce.permanent
    message.bounced_at = bounce.bounced_at
    message.bounce_diagnostic = bounce.diagnostic
    message.bounce_smtp_status = bounce.smtp_status


async def add_label(session: AsyncSession, message: ThreadMessage, label: str) -> bool:
    """Put ``label`` on the message; False when it was already there."""
    key = (message.workspace_id, message.message_id, label)
    if await session.get(ThreadMessageLabel, key) is not None:
        return False
    session.add(
        ThreadMessageLabel(
            workspace_id=message.workspace_id,
            message_id=message.message_id,
            label=label,
            thread_id=message.thread_id,
            applied_at=utcnow(),
        )
    )
    return True


async def labels_by_message(
    session: AsyncSession, workspace_id: str, message_ids: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    if not message_ids:
        return {}
    rows = await session.exec(
        select(ThreadMessageLabel).where(
            ThreadMessageLabel.workspace_id == workspace_id,
            col(ThreadMessageLabel.message_id).in_(message_ids),
        )
    )
    found: dict[str, list[str]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(row.label)
    return {message_id: ordered_labels(labels) for message_id, labels in found.items()}


async def keep_pending(
    session: AsyncSession,
    workspace_id: str,
    event_id: str,
    message_id: str,
    topic: str,
    data: dict[str, object],
) -> None:
    """Hold a signal for a message not sent yet; holding the same event twice keeps one row."""
    if await session.get(ThreadPendingSignal, (workspace_id, event_id)) is not None:
        return
    session.add(
        ThreadPendingSignal(
            workspace_id=workspace_id, event_id=event_id, message_id=message_id, topic=topic, data=data
        )
    )


async def take_pending(
    session: AsyncSession, workspace_id: str, message_id: str
) -> list[ThreadPendingSignal]:
    """The signals waiting for this message, removed from the waiting room."""
    rows = list(
        await session.exec(
            select(ThreadPendingSignal)
            .where(
                ThreadPendingSignal.workspace_id == workspace_id, ThreadPendingSignal.message_id == message_id
            )
            .order_by(col(ThreadPendingSignal.received_at), col(ThreadPendingSignal.event_id))
        )
    )
    for row in rows:
        await session.delete(row)
    return rows
