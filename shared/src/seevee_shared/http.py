"""RFC 9457 problem documents for every error, and opaque cursors for every list."""

import base64
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from seevee_shared.bus.errors import TRANSIENT, is_transient
from seevee_shared.logging import get_logger

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5
"""What a 503 asks a caller to wait when the store is locked or unreachable."""
T = TypeVar("T")
log = get_logger(__name__)


class ProblemError(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.type = status, title, detail, type_
        self.headers = headers or {}
        self.extra = extra or {}


class NotFound(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(404, "Not Found", detail)


class Conflict(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(409, "Conflict", detail)


class BadRequest(ProblemError):
    def __init__(self, detail: str) -> None:
        super().__init__(400, "Bad Request", detail)


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Every error leaves as problem+json: ours, FastAPI's validation errors, and Starlette's."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            instance=request.url.path,
            type_=exc.type,
            headers=exc.headers,
            extra=exc.extra,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
            for error in exc.errors()
        ]
        return problem_response(
            422,
            "Unprocessable Content",
            "the request does not match the schema",
            instance=request.url.path,
            extra={"errors": errors},
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(
            exc.status_code,
            _reason(exc.status_code),
            str(exc.detail) if exc.detail else None,
            instance=request.url.path,
            headers=dict(exc.headers or {}),
        )

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return problem_response(500, "Internal Server Error", None, instance=request.url.path)

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        """The store or the broker is busy or away (a lock past its timeout, a lost connection): the
        same call can succeed later, so the caller is told to retry rather than shown a crash."""
        if not is_transient(exc):
            return await on_crash(request, exc)
        log.warning("store or broker unavailable", path=request.url.path, error=type(exc).__name__)
        return problem_response(
            503,
            "Service Unavailable",
            "the service's store is briefly unavailable; try again shortly",
            instance=request.url.path,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for unavailable in (*TRANSIENT, DBAPIError):
        app.add_exception_handler(unavailable, on_unavailable)
    app.add_exception_handler(Exception, on_crash)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


Limit = Annotated[int, Query(ge=1, le=500, description="page size (at most 500)")]


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")


CURSOR_MAX_LENGTH = 1000
"""Far above any cursor we issue (a time and an id); longer input is not worth decoding."""
_NOT_OURS = "the cursor is not one this API issued"


def decode_cursor(cursor: str) -> dict[str, Any]:
    """Read a cursor we issued; anything else is a 400, never a 500."""
    if len(cursor) > CURSOR_MAX_LENGTH:
        raise BadRequest(_NOT_OURS)
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise BadRequest(_NOT_OURS) from exc
    if not isinstance(value, dict):
        raise BadRequest(_NOT_OURS)
    return value


def encode_position(at: datetime, key: str, *, time_field: str, id_field: str) -> str:
    """The keyset cursor of a list ordered by (time, id): where the next page starts."""
    return encode_cursor({time_field: at.isoformat(), id_field: key})


def decode_position(cursor: str, *, time_field: str, id_field: str) -> tuple[datetime, str]:
    """The (time, id) of a cursor from ``encode_position``: every list reads its cursor here.

    A time without a zone cannot be compared with the stored (UTC) times, so it is refused like any
    other cursor we did not issue: a 400, never a 500.
    """
    position = decode_cursor(cursor)
    at, key = position.get(time_field), position.get(id_field)
    if not isinstance(at, str) or not isinstance(key, str):
        raise BadRequest(_NOT_OURS)
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError as exc:
        raise BadRequest(_NOT_OURS) from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise BadRequest(_NOT_OURS)
    return parsed, key


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
