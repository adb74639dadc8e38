"""GET /v1/threads and /v1/threads/{thread_id}, scoped to the caller's workspace."""

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from seevee_shared.auth import CurrentPrincipal
from seevee_shared.http import Limit, NotFound, Page, decode_position, encode_position
from seevee_shared.service import DbSession
from thread_service import store
from thread_service.models import Thread, ThreadMessage, ThreadMessageLabel
from thread_service.resources import ThreadView, thread_view

router = APIRouter(prefix="/v1/threads", tags=["threads"])

_CURSOR = {"time_field": "s", "id_field": "t"}
Label = Literal["bounced", "complained"]
"""The labels a list can filter on: ``domain.LABELS``."""


@router.get("")
async def list_threads(
    principal: CurrentPrincipal,
    session: DbSession,
    label: Annotated[
        Label | None, Query(description="only threads with a message carrying this label")
    ] = None,
    contact_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Page[ThreadView]:
    """Threads with the most recent activity first (latest message by sent_at, then thread id)."""
    workspace_id = principal.workspace_id
    query = select(Thread).where(Thread.workspace_id == workspace_id)
    if contact_id is not None:
        query = query.where(Thread.contact_id == contact_id)
    if label is not None:
        labelled = select(ThreadMessageLabel.thread_id).where(
            ThreadMessageLabel.workspace_id == workspace_id, ThreadMessageLabel.label == label
        )
        query = query.where(col(Thread.thread_id).in_(labelled))
    if cursor is not None:
        sent_at, thread_id = decode_position(cursor, **_CURSOR)
        query = query.where(
            or_(
                col(Thread.latest_sent_at) < sent_at,
                and_(col(Thread.latest_sent_at) == sent_at, col(Thread.thread_id) < thread_id),
            )
        )
    query = query.order_by(col(Thread.latest_sent_at).desc(), col(Thread.thread_id).desc()).limit(limit + 1)
    threads = list(await session.exec(query))
    next_cursor = None
    if len(threads) > limit:
        threads = threads[:limit]
        last = threads[-1]
        next_cursor = encode_position(last.latest_sent_at, last.thread_id, **_CURSOR)
    return Page[ThreadView](items=await _views(session, workspace_id, threads), next_cursor=next_cursor)


@router.get("/{thread_id}")
async def get_thread(principal: CurrentPrincipal, session: DbSession, thread_id: str) -> ThreadView:
    thread = await session.get(Thread, (principal.workspace_id, thread_id))
    if thread is None:
        raise NotFound(f"no thread {thread_id!r}")
    (view,) = await _views(session, principal.workspace_id, [thread])
    return view


async def _views(session: AsyncSession, workspace_id: str, threads: Sequence[Thread]) -> list[ThreadView]:
    if not threads:
        return []
    rows = await session.exec(
        select(ThreadMessage).where(
            ThreadMessage.workspace_id == workspace_id,
            col(ThreadMessage.thread_id).in_([thread.thread_id for thread in threads]),
        )
    )
    messages: dict[str, list[ThreadMessage]] = {}
    for message in rows:
        messages.setdefault(message.thread_id, []).append(message)
    labels = await store.labels_by_message(
        session, workspace_id, [m.message_id for group in messages.values() for m in group]
    )
    return [thread_view(thread, messages[thread.thread_id], labels) for thread in threads]
