"""HTTP entrypoints: provider webhooks, raw bounce emails, and the workspace's list of bounces."""

from datetime import datetime
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from bounce_ingest.domain import Bounce
from bounce_ingest.dsn.budget import OverBudget, check_budget
from bounce_ingest.dsn.model import Classification
from bounce_ingest.inbound_dsn import records_from_dsn
from bounce_ingest.parse_workers import ParseBusy, ParseFailed, ParseTimeout, ParseWorkers, ReadEmail
from bounce_ingest.providers import PROVIDERS
from bounce_ingest.providers.base import (
    BadPayload,
    Headers,
    ProviderUnavailable,
    Unauthorized,
    WebhookRequest,
)
from bounce_ingest.providers.event_counts import count_ignored
from bounce_ingest.record_bounces import FieldOutOfBounds, StoreUnavailable, bounded_request, store_delivery
from bounce_ingest.records import ParsedRequest
from bounce_ingest.store import IngestStore
from seevee_shared.auth import CurrentPrincipal, Principal, require_role
from seevee_shared.db import utcnow
from seevee_shared.events import Category, MatchedBy
from seevee_shared.http import Limit, NotFound, Page, ProblemError, decode_position, encode_position
from seevee_shared.logging import get_logger
from seevee_shared.service import store_dependency

BODY_LIMIT = 5 * 1024 * 1024
"""Batches are accepted whole; nothing a provider sends comes near this."""
RFC822 = "message/rfc822"
_CURSOR = {"time_field": "r", "id_field": "b"}
_NOT_AUTHENTIC = (
    "the request could not be verified as coming from {provider}: check the webhook's credentials "
    "and that the body is sent unchanged"
)
"""Which check failed is logged, never answered: the answer would guide a forger."""
_CANNOT_VERIFY_NOW = "the request cannot be verified right now; retry later"
_UNREADABLE = "the email could not be classified within the time budget; it is not a bounce we can read"

router = APIRouter(tags=["bounces"])
log = get_logger(__name__)

Bounces = Annotated[IngestStore, Depends(store_dependency(IngestStore), scope="function")]


class DeliveryAnswer(BaseModel):
    accepted: int
    duplicates: int
    ignored: int


class BounceOut(BaseModel):
    bounce_id: str
    message_id: str | None
    thread_id: str | None
    contact_id: str | None
    run_id: str | None
    run_step: int | None
    recipient: str
    category: Category
    reason: str
    permanent: bool
    smtp_code: int | None
    smtp_status: str | None
    diagnostic: str | None
    remote_mta: str | None
    provider: str
    provider_event_id: str
    matched_by: MatchedBy | None
    bounced_at: datetime
    received_at: datetime


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> ProblemError:
    """A problem with the status a provider's retry policy needs, titled by that status."""
    return ProblemError(status, HTTPStatus(status).phrase, detail, headers=headers)


async def read_body(request: Request) -> bytes:
    """The raw bytes (signatures cover them), refused past the limit without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > BODY_LIMIT:
        raise ProblemError(413, "Content Too Large", f"the body limit is {BODY_LIMIT} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > BODY_LIMIT:
            raise ProblemError(413, "Content Too Large", f"the body limit is {BODY_LIMIT} bytes")
    return bytes(body)


@router.head("/v1/webhooks/{provider}", status_code=200)
async def probe_webhook(provider: str) -> None:
    """The unsigned HEAD Mandrill sends when a webhook is created: the URL exists (nothing is read)."""
    if provider not in PROVIDERS:
        raise NotFound(f"no webhook for provider {provider!r}")


@router.post("/v1/webhooks/{provider}", response_model=DeliveryAnswer)
async def receive_webhook(provider: str, request: Request) -> JSONResponse:
    """Verify, parse, then store durably; 2xx only once the records (and their events) are committed."""
    entry = PROVIDERS.get(provider)
    if entry is None:
        raise NotFound(f"no webhook for provider {provider!r}")
    responses = entry.responses
    body = await read_body(request)
    webhook = WebhookRequest(
        method=request.method,
        url=str(request.url),
        headers=Headers(request.headers.items()),
        body=body,
        query=dict(request.query_params),
    )
    now = utcnow()
    try:
        await entry.verify(webhook, request.app.state.webhook_credentials.get(provider), now)
    except Unauthorized as error:
        log.info("webhook refused", provider=provider, detail=error.detail)
        raise _problem(responses.unauthorized, _NOT_AUTHENTIC.format(provider=provider)) from error
    except ProviderUnavailable as error:
        log.warning("webhook not verifiable now", provider=provider, detail=error.detail)
        raise _problem(responses.transient, _CANNOT_VERIFY_NOW) from error
    try:
        parsed = bounded_request(entry.parse(webhook))
    except (BadPayload, FieldOutOfBounds) as error:
        log.info("webhook payload refused", provider=provider, detail=error.detail)
        raise _problem(responses.bad_payload, error.detail) from error
    counts = await _store(request, parsed, now, responses.transient)
    count_ignored(provider, entry.events, parsed.ignored)
    log.info("webhook stored", provider=provider, **counts.model_dump())
    return JSONResponse(counts.model_dump(), status_code=responses.accepted)


@router.post("/v1/inbound/dsn", response_model=Classification)
async def receive_bounce_email(
    request: Request, principal: Annotated[Principal, Depends(require_role("ingest"))]
) -> Classification:
    """A raw bounce email from a connected inbox: classified, and its bounces stored like a webhook's.

    Its bounces may only match the token's workspace's messages.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != RFC822:
        raise ProblemError(415, "Unsupported Media Type", f"send the raw email as {RFC822}")
    raw = await read_body(request)
    if not raw.strip():
        raise ProblemError(400, "Bad Request", "the email is empty")
    read = await _read_bounce_email(request, raw)
    now = utcnow()
    try:
        parsed = bounded_request(ParsedRequest(records_from_dsn(read.classification, raw, now, read.headers)))
    except FieldOutOfBounds as error:
        log.warning("bounce email refused", reason=error.detail, size=len(raw))
        raise ProblemError(422, "Unprocessable Content", error.detail) from error
    await _store(request, parsed, now, 503, principal.workspace_id)
    return read.classification


async def _read_bounce_email(request: Request, raw: bytes) -> ReadEmail:
    """Classify within the size and time budget, in a parser process: the event loop never parses."""
    try:
        check_budget(raw, request.app.state.email_budget)
        workers: ParseWorkers = request.app.state.parse_workers
        return await workers.read(raw)
    except (OverBudget, ParseTimeout, ParseFailed) as error:
        log.warning("bounce email refused", reason=str(error), size=len(raw))
        detail = error.detail if isinstance(error, OverBudget) else _UNREADABLE
        raise ProblemError(422, "Unprocessable Content", detail) from error
    except ParseBusy as error:
        log.warning("bounce email parsers busy", size=len(raw))
        raise _problem(503, "every parser is busy; retry", {"Retry-After": "30"}) from error


async def _store(
    request: Request,
    parsed: ParsedRequest,
    now: datetime,
    transient: int,
    workspace_scope: str | None = None,
) -> DeliveryAnswer:
    try:
        counts = await store_delivery(request.app.state.db, parsed, now, workspace_scope)
    except StoreUnavailable as error:
        log.warning("store unavailable, asking the sender to retry", error=str(error))
        raise _problem(transient, "the store is unavailable; retry", {"Retry-After": "30"}) from error
    request.app.state.relay.wake()
    return DeliveryAnswer(accepted=counts.accepted, duplicates=counts.duplicates, ignored=counts.ignored)


@router.get("/v1/bounces", response_model=Page[BounceOut])
async def list_bounces(
    principal: CurrentPrincipal,
    store: Bounces,
    limit: Limit = 50,
    cursor: str | None = None,
    contact_id: str | None = None,
    message_id: str | None = None,
    category: Annotated[Category | None, Query()] = None,
) -> Page[BounceOut]:
    """The workspace's matched bounces, newest first."""
    after = decode_position(cursor, **_CURSOR) if cursor is not None else None
    rows = await store.bounces(
        principal.workspace_id,
        limit=limit + 1,
        after=after,
        contact_id=contact_id,
        message_id=message_id,
        category=category,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_position(last.received_at, last.bounce_id, **_CURSOR)
    return Page[BounceOut](items=[_bounce_out(row) for row in rows], next_cursor=next_cursor)


@router.get("/v1/bounces/{bounce_id}", response_model=BounceOut)
async def get_bounce(bounce_id: str, principal: CurrentPrincipal, store: Bounces) -> BounceOut:
    """One bounce of the workspace; another workspace's (or a still unmatched) bounce is a 404."""
    row = await store.bounce(principal.workspace_id, bounce_id)
    if row is None:
        raise NotFound(f"no bounce {bounce_id!r}")
    return _bounce_out(row)


def _bounce_out(row: Bounce) -> BounceOut:
    return BounceOut.model_validate(row, from_attributes=True)
