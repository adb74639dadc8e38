"""HTTP API of runs, scoped to the caller's workspace: another workspace's run is a 404."""

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from run_orchestrator.domain import NotPausedError, RunStatus, restart, stop
from run_orchestrator.models import RunRecord
from run_orchestrator.resources import BulkStopIn, BulkStopOut, RestartIn, RunCreate, RunOut
from run_orchestrator.store import StoredRun, add_run, load_run, load_runs, save
from seevee_shared.auth import CurrentPrincipal
from seevee_shared.db import utcnow
from seevee_shared.http import Conflict, Limit, NotFound, Page, decode_position, encode_position
from seevee_shared.service import DbSession

router = APIRouter(prefix="/v1/runs", tags=["runs"])

BULK_FILTER_MAX = 1000
_CURSOR = {"time_field": "created_at", "id_field": "run_id"}


@router.post("", status_code=201)
async def create_run(body: RunCreate, principal: CurrentPrincipal, session: DbSession) -> RunOut:
    stored = await add_run(
        session,
        workspace_id=principal.workspace_id,
        contact_id=body.contact_id,
        thread_id=body.thread_id,
        recipient=body.recipient,
        sender_mailbox=body.sender_mailbox,
        delays=[s.delay_hours for s in body.steps],
        start_at=body.start_at,
        now=utcnow(),
    )
    return RunOut.of(stored)


@router.get("")
async def list_runs(
    principal: CurrentPrincipal,
    session: DbSession,
    status: Annotated[RunStatus | None, Query()] = None,
    contact_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[RunOut]:
    """Oldest first; `next_cursor` continues after the last run of the page."""
    query = select(RunRecord).where(RunRecord.workspace_id == principal.workspace_id)
    if status is not None:
        query = query.where(RunRecord.status == status)
    if contact_id is not None:
        query = query.where(RunRecord.contact_id == contact_id)
    if cursor is not None:
        after_at, after_id = decode_position(cursor, **_CURSOR)
        query = query.where(
            or_(
                col(RunRecord.created_at) > after_at,
                (col(RunRecord.created_at) == after_at) & (col(RunRecord.run_id) > after_id),
            )
        )
    query = query.order_by(col(RunRecord.created_at), col(RunRecord.run_id)).limit(limit + 1)
    records = list((await session.exec(query)).all())
    page = await load_runs(session, records[:limit])
    next_cursor = None
    if len(records) > limit:
        last = records[limit - 1]
        next_cursor = encode_position(last.created_at, last.run_id, **_CURSOR)
    return Page[RunOut](items=[RunOut.of(stored) for stored in page], next_cursor=next_cursor)


@router.get("/{run_id}")
async def get_run(run_id: str, principal: CurrentPrincipal, session: DbSession) -> RunOut:
    return RunOut.of(await _run_or_404(session, principal.workspace_id, run_id))


@router.post("/bulk-stop")
async def bulk_stop(body: BulkStopIn, principal: CurrentPrincipal, session: DbSession) -> BulkStopOut:
    """Stop many runs at once (cause `bulk`); runs already stopped or completed are left unchanged."""
    now = utcnow()
    answer = BulkStopOut(stopped=[], unchanged=[], not_found=[])
    if body.run_ids is not None:
        wanted = list(dict.fromkeys(body.run_ids))
        query = select(RunRecord).where(
            RunRecord.workspace_id == principal.workspace_id, col(RunRecord.run_id).in_(wanted)
        )
        found = {r.run_id: r for r in (await session.exec(query.with_for_update())).all()}
        answer.not_found = [run_id for run_id in wanted if run_id not in found]
        records = [found[run_id] for run_id in wanted if run_id in found]
    else:
        assert body.filter is not None
        query = select(RunRecord).where(RunRecord.workspace_id == principal.workspace_id)
        if body.filter.status is not None:
            query = query.where(RunRecord.status == body.filter.status)
        if body.filter.contact_id is not None:
            query = query.where(RunRecord.contact_id == body.filter.contact_id)
        query = query.order_by(col(RunRecord.created_at), col(RunRecord.run_id)).limit(BULK_FILTER_MAX + 1)
        records = list((await session.exec(query.with_for_update())).all())
        answer.more = len(records) > BULK_FILTER_MAX
        records = records[:BULK_FILTER_MAX]
    for stored in await load_runs(session, records):
        outcome = stop(stored.domain(), "bulk", now)
        save(session, stored, outcome, now)
        (answer.stopped if outcome.changed else answer.unchanged).append(stored.record.run_id)
    return answer


@router.post("/{run_id}/stop")
async def stop_run(run_id: str, principal: CurrentPrincipal, session: DbSession) -> RunOut:
    """Stop is final. Stopping a stopped run changes nothing; a completed run cannot be stopped (409)."""
    stored = await _run_or_404(session, principal.workspace_id, run_id)
    if stored.record.status == "completed":
        raise Conflict("the run is completed: there is nothing left to stop")
    now = utcnow()
    save(session, stored, stop(stored.domain(), "user", now), now)
    return RunOut.of(stored)


@router.post("/{run_id}/restart")
async def restart_run(
    run_id: str, principal: CurrentPrincipal, session: DbSession, body: RestartIn | None = None
) -> RunOut:
    """Resume a paused run at the step it paused on, due at `at` (default now); 409 unless paused."""
    stored = await _run_or_404(session, principal.workspace_id, run_id)
    now = utcnow()
    try:
        outcome = restart(stored.domain(), body.at if body and body.at else now, "user", now)
    except NotPausedError as exc:
        raise Conflict(f"only a paused run can be restarted; this one is {stored.record.status}") from exc
    save(session, stored, outcome, now)
    return RunOut.of(stored)


async def _run_or_404(session: AsyncSession, workspace_id: str, run_id: str) -> StoredRun:
    stored = await load_run(session, workspace_id, run_id)
    if stored is None:
        raise NotFound(f"no run {run_id}")
    return stored
