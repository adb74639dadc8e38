"""HTTP API: refunds of the caller's workspace, their request and decision, and employer bounce stats."""

import re
from datetime import timedelta
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Path, Query, Request

from refund_service import events_out
from refund_service.domain import spike
from refund_service.domain.decisions import Action, TransitionRefusedError, next_status
from refund_service.domain.eligibility import Status
from refund_service.settings import RefundSettings
from refund_service.store import RefundStore
from refund_service.views import BounceStatsOut, RefundOut, refund_view
from seevee_shared.auth import CurrentPrincipal, Principal, require_role
from seevee_shared.db import utcnow
from seevee_shared.events import RefundStatus
from seevee_shared.http import BadRequest, Conflict, Limit, NotFound, Page, decode_position, encode_position
from seevee_shared.service import store_dependency

router = APIRouter(prefix="/v1", tags=["refunds"])
Support = Annotated[Principal, Depends(require_role("support"))]
Refunds = Annotated[RefundStore, Depends(store_dependency(RefundStore), scope="function")]
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_CURSOR = {"time_field": "created_at", "id_field": "refund_id"}


@router.get("/refunds", response_model=Page[RefundOut])
async def list_refunds(
    principal: CurrentPrincipal,
    store: Refunds,
    status: RefundStatus | None = None,
    contact_id: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> Page[RefundOut]:
    """Newest first."""
    after = decode_position(cursor, **_CURSOR) if cursor else None
    records = await store.refunds(
        principal.workspace_id, limit=limit + 1, status=status, contact_id=contact_id, after=after
    )
    page = records[:limit]
    next_cursor = None
    if len(records) > limit:
        last = page[-1]
        next_cursor = encode_position(last.created_at, last.refund_id, **_CURSOR)
    return Page[RefundOut](items=[refund_view(record) for record in page], next_cursor=next_cursor)


@router.get("/refunds/{refund_id}", response_model=RefundOut)
async def get_refund(refund_id: str, principal: CurrentPrincipal, store: Refunds) -> RefundOut:
    record = await store.refund(principal.workspace_id, refund_id)
    if record is None:
        raise NotFound(f"no refund {refund_id}")
    return refund_view(record)


async def _move(store: RefundStore, principal: Principal, refund_id: str, action: Action) -> RefundOut:
    record = await store.refund(principal.workspace_id, refund_id, lock=True)
    if record is None:
        raise NotFound(f"no refund {refund_id}")
    try:
        record.status = next_status(action, cast(Status, record.status))
    except TransitionRefusedError as exc:
        raise Conflict(str(exc)) from exc
    now = utcnow()
    if action == "request":
        record.requested_at, record.requested_by = now, principal.sub
    else:
        record.decided_at, record.decided_by = now, principal.sub
    record.updated_at = now
    store.changed(record)
    store.publish(events_out.refund_decided(record))
    return refund_view(record)


@router.post("/refunds/{refund_id}/request", response_model=RefundOut)
async def request_refund(refund_id: str, principal: CurrentPrincipal, store: Refunds) -> RefundOut:
    """A user asks for the credits back: only an eligible or needs_review refund."""
    return await _move(store, principal, refund_id, "request")


@router.post("/refunds/{refund_id}/approve", response_model=RefundOut)
async def approve_refund(refund_id: str, principal: Support, store: Refunds) -> RefundOut:
    return await _move(store, principal, refund_id, "approve")


@router.post("/refunds/{refund_id}/deny", response_model=RefundOut)
async def deny_refund(refund_id: str, principal: Support, store: Refunds) -> RefundOut:
    return await _move(store, principal, refund_id, "deny")


@router.get("/employers/{domain}/bounce-stats", response_model=BounceStatsOut)
async def bounce_stats(
    request: Request,
    principal: CurrentPrincipal,
    store: Refunds,
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
    window = await store.employer_window(principal.workspace_id, employer_domain, now, days)
    last = await store.latest_spike(principal.workspace_id, employer_domain)
    start = spike.window_start(now, days)
    return BounceStatsOut(
        employer_domain=employer_domain,
        window_days=days,
        window_start=start,
        window_end=now,
        reveals=window.reveals,
        hard_bounces=window.hard_bounces,
        distinct_contacts=window.distinct_contacts,
        rate=round(window.rate, 4),
        spike_threshold_met=spike.is_spike(window, settings.spike_min_contacts, settings.spike_min_rate),
        spike_flagged=last is not None
        and last.period_start + timedelta(days=settings.spike_window_days) > start,
        last_spike_detected_at=last.detected_at if last else None,
    )
