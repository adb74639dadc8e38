"""The HTTP shell every service shares, without starting its store or broker."""

import httpx
import pytest
from fastapi import APIRouter, Depends

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
