"""HTTP API: refunds of the caller's workspace, their request and decision, and employer bounce stats."""

import re
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.domain.decisions import Action, TransitionRefusedError, next_status
from refund_service.domain.spike import is_spike, window_start
from refund_service.employer_spikes import employer_window, latest_spike
from refund_service.models import RefundRecord
from refund_service.refunds import as_status, refund_event
from refund_service.settings import RefundSettings
from seevee_shared.auth import CurrentPrincipal, Principal, require_role
from seevee_shared.bus import outbox_add
from seevee_shared.db import utcnow
from seevee_shared.events import RefundBasis, RefundDecided, RefundStatus
from seevee_shared.http import BadRequest, Conflict, Limit, NotFound, Page, decode_position, encode_position
from seevee_shared.service import DbSession

router = APIRouter(prefix="/v1", tags=["refunds"])
Support = Annotated[Principal, Depends(require_role("support"))]
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")


class RefundOut(BaseModel):
    refund_id: str
    reveal_id: str
    contact_id: str
    email: str
    bounce_id: str
    status: RefundStatus
    basis: RefundBasis
    explanation: str
    credits: int
    created_at: datetime
    updated_at: datetime
    requested_at: datetime | None
    requested_by: str | None
    decided_at: datetime | None
    decided_by: str | None


class BounceStatsOut(BaseModel):
    employer_domain: str
    window_days: int
    window_start: datetime
    window_end: datetime
    reveals: int
    hard_bounces: int
    distinct_contacts: int
    rate: float
    spike_threshold_met: bool
    spike_flagged: bool
    last_spike_detected_at: datetime | None


def _out(record: RefundRecord) -> RefundOut:
    return RefundOut.model_validate(record, from_attributes=True)


_CURSOR = {"time_field": "created_at", "id_field": "refund_id"}


@router.get("/refunds", response_model=Page[RefundOut])
async def list_refunds(
    principal: CurrentPrincipal,
    session: DbSession,
    status: RefundStatus | None = None,
    contact_id: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[RefundOut]:
    """Newest first."""
    query = select(RefundRecord).where(RefundRecord.workspace_id == principal.workspace_id)
    if status is not None:
        query = query.where(RefundRecord.status == status)
    if contact_id is not None:
        query = query.where(RefundRecord.contact_id == contact_id)
    if cursor:
        created_at, refund_id = decode_position(cursor, **_CURSOR)
        query = query.where(
            or_(
                col(RefundRecord.created_at) < created_at,
                (col(RefundRecord.created_at) == created_at) & (col(RefundRecord.refund_id) < refund_id),
            )
        )
    query = query.order_by(col(RefundRecord.created_at).desc(), col(RefundRecord.refund_id).desc())
    records = (await session.exec(query.limit(limit + 1))).all()
    page = records[:limit]
    next_cursor = None
    if len(records) > limit:
        last = page[-1]
        next_cursor = encode_position(last.created_at, last.refund_id, **_CURSOR)
    return Page[RefundOut](items=[_out(record) for record in page], next_cursor=next_cursor)


async def _refund(
    session: AsyncSession, workspace_id: str, refund_id: str, *, for_update: bool = False
) -> RefundRecord:
    query = select(RefundRecord).where(
        RefundRecord.workspace_id == workspace_id, RefundRecord.refund_id == refund_id
    )
    record = (await session.exec(query.with_for_update() if for_update else query)).first()
    if record is None:
        raise NotFound(f"no refund {refund_id}")
    return record


@router.get("/refunds/{refund_id}", response_model=RefundOut)
async def get_refund(refund_id: str, principal: CurrentPrincipal, session: DbSession) -> RefundOut:
    return _out(await _refund(session, principal.workspace_id, refund_id))


async def _move(session: AsyncSession, principal: Principal, refund_id: str, action: Action) -> RefundOut:
    record = await _refund(session, principal.workspace_id, refund_id, for_update=True)
    try:
        record.status = next_status(action, as_status(record.status))
    except TransitionRefusedError as exc:
        raise Conflict(str(exc)) from exc
    now = utcnow()
    if action == "request":
        record.requested_at, record.requested_by = now, principal.sub
    else:
        record.decided_at, record.decided_by = now, principal.sub
    record.updated_at = now
    session.add(record)
    outbox_add(session, refund_event(record, RefundDecided))
    return _out(record)


@router.post("/refunds/{refund_id}/request", response_model=RefundOut)
async def request_refund(refund_id: str, principal: CurrentPrincipal, session: DbSession) -> RefundOut:
    """A user asks for the credits back: only an eligible or needs_review refund."""
    return await _move(session, principal, refund_id, "request")


@router.post("/refunds/{refund_id}/approve", response_model=RefundOut)
async def approve_refund(refund_id: str, principal: Support, session: DbSession) -> RefundOut:
    return await _move(session, principal, refund_id, "approve")


@router.post("/refunds/{refund_id}/deny", response_model=RefundOut)
async def deny_refund(refund_id: str, principal: Support, session: DbSession) -> RefundOut:
    return await _move(session, principal, refund_id, "deny")


@router.get("/employers/{domain}/bounce-stats", response_model=BounceStatsOut)
async def bounce_stats(
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    domain: Annotated[str, Path(max_length=253)],
    window_days: Annotated[int | None, Query(ge=1, le=365)] = None,
) -> BounceStatsOut:
    """The window up to now, by the spike rule's settings unless window_days is given."""
    employer_domain = domain.strip().lower().rstrip(".")
    if not _DOMAIN.match(employer_domain):
        raise BadRequest(f"{domain!r} is not a domain name")
    settings: RefundSettings = request.app.state.settings
    days = window_days or settings.spike_window_days
    now = utcnow()
    window = await employer_window(session, principal.workspace_id, employer_domain, now, days)
    last = await latest_spike(session, principal.workspace_id, employer_domain)
    start = window_start(now, days)
    return BounceStatsOut(
        employer_domain=employer_domain,
        window_days=days,
        window_start=start,
        window_end=now,
        reveals=window.reveals,
        hard_bounces=window.hard_bounces,
        distinct_contacts=window.distinct_contacts,
        rate=round(window.rate, 4),
        spike_threshold_met=is_spike(window, settings.spike_min_contacts, settings.spike_min_rate),
        spike_flagged=last is not None
        and last.period_start + timedelta(days=settings.spike_window_days) > start,
        last_spike_detected_at=last.detected_at if last else None,
    )
