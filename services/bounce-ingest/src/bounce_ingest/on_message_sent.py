"""``message.sent``: remember the message, then match the bounces and complaints that were waiting for it."""

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bounce_ingest.correlation import find_matches, keys_of_bounce, keys_of_complaint
from bounce_ingest.domain import CLOCK_SKEW, RECIPIENT_WINDOW, normalize_message_id, normalize_recipient
from bounce_ingest.models import (
    BOUNCE_PENDING,
    BOUNCE_UNMATCHED,
    IngestBounce,
    IngestComplaint,
    IngestSentMessage,
)
from bounce_ingest.publishing import publish_bounced, publish_complained
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageSent

WAITING = (BOUNCE_PENDING, BOUNCE_UNMATCHED)
"""Unmatched bounces too: a message that shows up late still gets its ``message.bounced``."""


_QUEUED = "bounce_ingest.queued_sent_messages"
"""Key in ``session.info``: sent messages added in this transaction and not flushed yet, by id."""


async def on_message_sent(session: AsyncSession, event: CloudEvent) -> None:
    """Store the message; flush and correlate only when a bounce or complaint may be waiting for it.

    Most messages never bounce: their rows go in with the rest of the poll's writes, in one flush.
    """
    sent = event.data_as(MessageSent)
    row = await _stored_message(session, sent.message_id)
    if row is None:
        row = IngestSentMessage(
            message_id=sent.message_id,
            workspace_id=event.workspaceid,
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
        session.add(row)
        session.info.setdefault(_QUEUED, {})[row.message_id] = row
    if not await _anything_waiting(session, row):
        return
    await session.flush()
    await _match_waiting_bounces(session, row)
    await _match_waiting_complaints(session, row)


async def _stored_message(session: AsyncSession, message_id: str) -> IngestSentMessage | None:
    """The message if this transaction or an earlier one stored it, without flushing the queued ones.

    A queued row that a rolled-back savepoint took out of the session no longer counts.
    """
    queued: dict[str, IngestSentMessage] = session.info.get(_QUEUED, {})
    row = queued.get(message_id)
    if row is not None and row in session:
        return row
    with session.no_autoflush:
        return await session.get(IngestSentMessage, message_id)


async def _anything_waiting(session: AsyncSession, row: IngestSentMessage) -> bool:
    """One cheap probe of both tables, as committed or flushed; unflushed changes only ever settle rows.

    So a row the store calls waiting may already be matched in this session (the full select after the
    flush sorts that out), but a row it does not call waiting never is.
    """
    connection = await session.connection()
    probe = union_all(
        select(col(IngestBounce.bounce_id)).where(
            col(IngestBounce.status).in_(WAITING), _may_belong(IngestBounce, IngestBounce.bounced_at, row)
        ),
        select(col(IngestComplaint.complaint_id)).where(
            col(IngestComplaint.status).in_(WAITING),
            _may_belong(IngestComplaint, IngestComplaint.complained_at, row),
        ),
    )
    return (await connection.execute(probe)).first() is not None


def _may_belong(model: Any, occurred_at: Any, row: IngestSentMessage) -> ColumnElement[bool]:
    """Waiting rows sharing a key with the message; correlation then decides which really match.

    By recipient, only rows the message could explain: those within the recipient window of its send.
    """
    conditions = [
        and_(
            col(model.recipient) == row.recipient,
            col(occurred_at) >= row.sent_at - CLOCK_SKEW,
            col(occurred_at) <= row.sent_at + RECIPIENT_WINDOW,
        ),
        col(model.seevee_message_id) == row.message_id,
    ]
    if row.provider_message_id:
        conditions.append(col(model.provider_message_id) == row.provider_message_id)
        conditions.append(
            col(model.provider_message_id).startswith(row.provider_message_id + ".filter", autoescape=True)
        )
    if row.smtp_message_id:
        conditions.append(col(model.smtp_message_id) == row.smtp_message_id)
    return or_(*conditions)


async def _match_waiting_bounces(session: AsyncSession, row: IngestSentMessage) -> None:
    statement = (
        select(IngestBounce)
        .where(col(IngestBounce.status).in_(WAITING), _may_belong(IngestBounce, IngestBounce.bounced_at, row))
        .with_for_update()
    )
    bounces = list((await session.exec(statement)).all())
    matches = await find_matches(session, [keys_of_bounce(bounce) for bounce in bounces])
    for bounce, match in zip(bounces, matches, strict=True):
        if match is not None:
            publish_bounced(session, bounce, match)


async def _match_waiting_complaints(session: AsyncSession, row: IngestSentMessage) -> None:
    statement = (
        select(IngestComplaint)
        .where(
            col(IngestComplaint.status).in_(WAITING),
            _may_belong(IngestComplaint, IngestComplaint.complained_at, row),
        )
        .with_for_update()
    )
    complaints = list((await session.exec(statement)).all())
    matches = await find_matches(session, [keys_of_complaint(complaint) for complaint in complaints])
    for complaint, match in zip(complaints, matches, strict=True):
        if match is not None:
            publish_complained(session, complaint, match)
