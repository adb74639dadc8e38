"""GET /v1/threads and /v1/threads/{thread_id}, scoped to the caller's workspace."""

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from seevee_shared.auth import CurrentPrincipal
from seevee_shared.http import Limit, NotFound, Page, decode_position, encode_position
from seevee_shared.service import store_dependency
from thread_service import domain
from thread_service.store import ThreadStore
from thread_service.views import ThreadView, thread_view

router = APIRouter(prefix="/v1/threads", tags=["threads"])

_CURSOR = {"time_field": "s", "id_field": "t"}
Label = Literal["bounced", "complained"]
"""The labels a list can filter on: ``domain.LABELS``."""

Threads = Annotated[ThreadStore, Depends(store_dependency(ThreadStore), scope="function")]


@router.get("")
async def list_threads(
    principal: CurrentPrincipal,
    store: Threads,
    label: Annotated[
        Label | None, Query(description="only threads with a message carrying this label")
    ] = None,
    contact_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> Page[ThreadView]:
    """Threads with the most recent activity first (latest message by sent_at, then thread id)."""
    workspace_id = principal.workspace_id
    after = decode_position(cursor, **_CURSOR) if cursor is not None else None
    threads = await store.threads(
        workspace_id, limit=limit + 1, label=label, contact_id=contact_id, after=after
    )
    next_cursor = None
    if len(threads) > limit:
        threads = threads[:limit]
        last = threads[-1]
        next_cursor = encode_position(last.latest_sent_at, last.thread_id, **_CURSOR)
    return Page[ThreadView](items=await _views(store, workspace_id, threads), next_cursor=next_cursor)


@router.get("/{thread_id}")
async def get_thread(principal: CurrentPrincipal, store: Threads, thread_id: str) -> ThreadView:
    thread = await store.find_thread(principal.workspace_id, thread_id)
    if thread is None:
        raise NotFound(f"no thread {thread_id!r}")
    (view,) = await _views(store, principal.workspace_id, [thread])
    return view


async def _views(store: ThreadStore, workspace_id: str, threads: Sequence[domain.Thread]) -> list[ThreadView]:
    if not threads:
        return []
    messages: dict[str, list[domain.Message]] = {}
    for message in await store.messages_of(workspace_id, [thread.thread_id for thread in threads]):
        messages.setdefault(message.thread_id, []).append(message)
    labels = await store.labels_of(workspace_id, [m.message_id for group in messages.values() for m in group])
    return [thread_view(thread, messages[thread.thread_id], labels) for thread in threads]
