"""RFC 9457 problem documents for every error, and opaque cursors for every list."""

import base64
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from seevee_shared.logging import get_logger

PROBLEM_JSON = "application/problem+json"
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

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
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


def decode_cursor(cursor: str) -> dict[str, Any]:
    """Read a cursor we issued; anything else is a 400, never a 500."""
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise BadRequest("the cursor is not one this API issued") from exc
    if not isinstance(value, dict):
        raise BadRequest("the cursor is not one this API issued")
    return value


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
