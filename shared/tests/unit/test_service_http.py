"""The HTTP shell every service shares, without starting its store or broker."""

import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from seevee_shared.auth import CurrentPrincipal, require_role
from seevee_shared.http import NotFound
from seevee_shared.service import build_service
from seevee_shared.settings import ServiceSettings
from seevee_shared.testing import TEST_JWT_SECRET, token

router = APIRouter()


@router.get("/v1/things/{thing_id}")
async def get_thing(thing_id: int, principal: CurrentPrincipal) -> dict[str, str]:
    if thing_id != 1:
        raise NotFound(f"thing {thing_id}")
    return {"workspace": principal.workspace_id}


@router.post("/v1/things/1/approve", dependencies=[Depends(require_role("support"))])
async def approve() -> dict[str, str]:
    return {"status": "approved"}


@router.post("/v1/things/write")
async def write_thing(request: Request) -> dict[str, str]:
    """Writes to the SQLite file named in the query, waiting at most 0.1 s for its lock."""
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{request.query_params['db']}", connect_args={"timeout": 0.1}
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text("BEGIN IMMEDIATE"))
    finally:
        await engine.dispose()
    return {"status": "written"}


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = build_service(name="probe", settings=ServiceSettings(jwt_secret=TEST_JWT_SECRET), routers=[router])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe.test")


async def test_errors_are_problem_documents(client: httpx.AsyncClient) -> None:
    cases = [
        ("GET", "/v1/things/1", {}, 401),
        ("GET", "/v1/things/2", {"Authorization": token("ws-1")}, 404),
        ("GET", "/v1/things/not-a-number", {"Authorization": token("ws-1")}, 422),
        ("POST", "/v1/things/1/approve", {"Authorization": token("ws-1")}, 403),
        ("GET", "/nowhere", {}, 404),
    ]
    for method, path, headers, status in cases:
        answer = await client.request(method, path, headers=headers)
        assert answer.status_code == status, path
        assert answer.headers["content-type"] == "application/problem+json", path
        body = answer.json()
        assert body["status"] == status and body["title"], path


async def test_roles_and_workspace_come_from_the_token(client: httpx.AsyncClient) -> None:
    ok = await client.get("/v1/things/1", headers={"Authorization": token("ws-7")})
    assert ok.json() == {"workspace": "ws-7"}
    approved = await client.post(
        "/v1/things/1/approve", headers={"Authorization": token("ws-7", ["support"])}
    )
    assert approved.status_code == 200


async def test_every_answer_carries_a_trace_id(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-Id": "trace-123"})
    assert given.headers["x-request-id"] == "trace-123"
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32


async def test_a_locked_store_is_a_503_to_retry_not_a_500(client: httpx.AsyncClient, tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        locked = await client.post("/v1/things/write", params={"db": str(path)})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    free = await client.post("/v1/things/write", params={"db": str(path)})

    assert locked.status_code == 503
    assert locked.headers["content-type"] == "application/problem+json"
    assert locked.headers["retry-after"] == "5"
    assert "locked" not in locked.text
    assert free.status_code == 200
