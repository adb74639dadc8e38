"""Reads and writes of the thread tables that the handlers share.

On a poll with a prefetch (see ``prefetch``), the messages and labels its events look up are loaded in
one query per table: found rows sit in the session, and keys found absent are kept in ``poll_lookups``,
which the writers below keep current so later events of the poll see earlier ones' rows.
"""

from collections.abc import Hashable, Sequence

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.bus.consumer import poll_lookups
from seevee_shared.cloudevents import CloudEvent
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


def _message_key(workspace_id: str, message_id: str) -> Hashable:
    return ("message", workspace_id, message_id)


def _label_key(workspace_id: str, message_id: str, label: str) -> Hashable:
    return ("label", workspace_id, message_id, label)


async def prefetch(session: AsyncSession, events: Sequence[CloudEvent], labels: Sequence[str]) -> None:
    """Load the messages the events name and, of ``labels``, those the messages carry: one query per
    table and workspace; what is missing is recorded as absent. The messages are locked first, as
    each handler would, so that no ``message.sent`` commits between this read and the handler."""
    lookups = poll_lookups(session)
    if lookups is None:
        return
    wanted: dict[str, set[str]] = {}
    for event in events:
        message_id = event.data.get("message_id")
        if isinstance(message_id, str):
            wanted.setdefault(event.workspaceid, set()).add(message_id)
    for workspace_id, message_ids in wanted.items():
        for message_id in sorted(message_ids):  # one order for every replica: no lock cycles
            await lock(session, workspace_id, "message", message_id)
            lookups[_message_key(workspace_id, message_id)] = None
        found = await session.exec(
            select(ThreadMessage).where(
                ThreadMessage.workspace_id == workspace_id, col(ThreadMessage.message_id).in_(message_ids)
            )
        )
        present: list[str] = []
        for message in found:
            lookups[_message_key(workspace_id, message.message_id)] = message
            present.append(message.message_id)
        if not present:
            continue
        for message_id in present:
            for label in labels:
                lookups[_label_key(workspace_id, message_id, label)] = None
        rows = await session.exec(
            select(ThreadMessageLabel).where(
                ThreadMessageLabel.workspace_id == workspace_id,
                col(ThreadMessageLabel.message_id).in_(present),
                col(ThreadMessageLabel.label).in_(labels),
            )
        )
        for row in rows:
            lookups[_label_key(workspace_id, row.message_id, row.label)] = row


async def find_message(session: AsyncSession, workspace_id: str, message_id: str) -> ThreadMessage | None:
    lookups = poll_lookups(session)
    key = _message_key(workspace_id, message_id)
    if lookups is not None and key in lookups:
        found: ThreadMessage | None = lookups[key]
        return found
    return await session.get(ThreadMessage, (workspace_id, message_id))


def add_message(session: AsyncSession, message: ThreadMessage) -> None:
    session.add(message)
    lookups = poll_lookups(session)
    if lookups is not None:
        lookups[_message_key(message.workspace_id, message.message_id)] = message


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
    lookups = poll_lookups(session)
    key = (message.workspace_id, message.message_id, label)
    lookup = _label_key(*key)
    if lookups is not None and lookup in lookups:
        if lookups[lookup] is not None:
            return False
    elif await session.get(ThreadMessageLabel, key) is not None:
        return False
    row = ThreadMessageLabel(
        workspace_id=message.workspace_id,
        message_id=message.message_id,
        label=label,
        thread_id=message.thread_id,
        applied_at=utcnow(),
    )
    session.add(row)
    if lookups is not None:
        lookups[lookup] = row
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
