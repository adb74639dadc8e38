"""HTTP API of runs, scoped to the caller's workspace: another workspace's run is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from run_orchestrator import domain
from run_orchestrator.creations import Creations
from run_orchestrator.store import RunStore
from run_orchestrator.views import BulkStopIn, BulkStopOut, RestartIn, RunCreate, RunOut
from seevee_shared.auth import CurrentPrincipal
from seevee_shared.db import utcnow
from seevee_shared.events import Cause
from seevee_shared.http import Conflict, Limit, NotFound, Page, decode_position, encode_position
from seevee_shared.service import store_dependency

router = APIRouter(prefix="/v1/runs", tags=["runs"])

BULK_FILTER_MAX = 1000
_CURSOR = {"time_field": "created_at", "id_field": "run_id"}

Runs = Annotated[RunStore, Depends(store_dependency(RunStore), scope="function")]


async def _creations(request: Request) -> Creations:
    """The app's one group-committing writer of new runs."""
    creations: Creations | None = getattr(request.app.state, "run_creations", None)
    if creations is None:
        creations = request.app.state.run_creations = Creations(request.app.state.db)
    return creations


@router.post("", status_code=201, response_model=RunOut)
async def create_run(
    body: RunCreate, principal: CurrentPrincipal, creations: Annotated[Creations, Depends(_creations)]
) -> Response:
    """Committed with the runs other requests create meanwhile; the answer is serialized once, by pydantic."""
    stored = domain.new_run(
        workspace_id=principal.workspace_id,
        contact_id=body.contact_id,
        thread_id=body.thread_id,
        recipient=body.recipient,
        sender_mailbox=body.sender_mailbox,
        delays=[s.delay_hours for s in body.steps],
        start_at=body.start_at,
        now=utcnow(),
    )
    await creations.create(stored)
    return Response(RunOut.of(stored).model_dump_json(), status_code=201, media_type="application/json")


@router.get("")
async def list_runs(
    principal: CurrentPrincipal,
    store: Runs,
    status: Annotated[domain.RunStatus | None, Query()] = None,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[RunOut]:
    """Oldest first; `next_cursor` continues after the last run of the page."""
    after = decode_position(cursor, **_CURSOR) if cursor is not None else None
    runs = await store.page(
        principal.workspace_id, limit=limit + 1, status=status, contact_id=contact_id, after=after
    )
    next_cursor = None
    if len(runs) > limit:
        last = runs[limit - 1].record
        next_cursor = encode_position(last.created_at, last.run_id, **_CURSOR)
    return Page[RunOut](items=[RunOut.of(stored) for stored in runs[:limit]], next_cursor=next_cursor)


@router.get("/{run_id}")
async def get_run(run_id: str, principal: CurrentPrincipal, store: Runs) -> RunOut:
    return RunOut.of(await _run_or_404(store, principal.workspace_id, run_id))


@router.post("/bulk-stop")
async def bulk_stop(body: BulkStopIn, principal: CurrentPrincipal, store: Runs) -> BulkStopOut:
    """Stop many runs at once (cause `bulk`); runs already stopped or completed are left unchanged."""
    now = utcnow()
    answer = BulkStopOut(stopped=[], unchanged=[], not_found=[])
    if body.run_ids is not None:
        wanted = list(dict.fromkeys(body.run_ids))
        found = await store.runs(principal.workspace_id, wanted)
        answer.not_found = [run_id for run_id in wanted if run_id not in found]
        runs = [found[run_id] for run_id in wanted if run_id in found]
    else:
        assert body.filter is not None
        runs = await store.page(
            principal.workspace_id,
            limit=BULK_FILTER_MAX + 1,
            status=body.filter.status,
            contact_id=body.filter.contact_id,
            lock=True,
        )
        answer.more = len(runs) > BULK_FILTER_MAX
        runs = runs[:BULK_FILTER_MAX]
    for stored in runs:
        outcome = domain.stop(stored.domain(), Cause.BULK, now)
        store.save(stored, outcome, now)
        (answer.stopped if outcome.changed else answer.unchanged).append(stored.record.run_id)
    return answer


@router.post("/{run_id}/stop")
async def stop_run(run_id: str, principal: CurrentPrincipal, store: Runs) -> RunOut:
    """Stop is final. Stopping a stopped run changes nothing; a completed run cannot be stopped (409)."""
    stored = await _run_or_404(store, principal.workspace_id, run_id)
    if stored.record.status == "completed":
        raise Conflict("the run is completed: there is nothing left to stop")
    now = utcnow()
    store.save(stored, domain.stop(stored.domain(), Cause.USER, now), now)
    return RunOut.of(stored)


@router.post("/{run_id}/restart")
async def restart_run(
    run_id: str, principal: CurrentPrincipal, store: Runs, body: RestartIn | None = None
) -> RunOut:
    """Resume a paused run at the step it paused on, due at `at` (default now); 409 unless paused."""
    stored = await _run_or_404(store, principal.workspace_id, run_id)
    now = utcnow()
    try:
        outcome = domain.restart(stored.domain(), body.at if body and body.at else now, Cause.USER, now)
    except domain.NotPausedError as exc:
        raise Conflict(f"only a paused run can be restarted; this one is {stored.record.status}") from exc
    store.save(stored, outcome, now)
    return RunOut.of(stored)


async def _run_or_404(store: RunStore, workspace_id: str, run_id: str) -> domain.StoredRun:
    stored = await store.run(workspace_id, run_id)
    if stored is None:
        raise NotFound(f"no run {run_id}")
    return stored
