"""The load client: every prepared request posted once, refusals and dropped connections reported."""

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.http_load import RefusedPost, post_all
from bounce_ingest.providers.signing import SignedRequest
from seevee_deploy.broker_config import free_port
from seevee_shared.testing import eventually


@pytest.fixture
async def recording_server() -> AsyncIterator[tuple[str, list[tuple[bytes, str, int]]]]:
    """A real uvicorn server: 201 for /ok (recording body, content type, client port), 422 for /no."""
    seen: list[tuple[bytes, str, int]] = []

    async def ok(request: Request) -> JSONResponse:
        assert request.client is not None
        seen.append((await request.body(), request.headers["content-type"], request.client.port))
        return JSONResponse({"n": len(seen)}, status_code=201)

    async def no(_request: Request) -> JSONResponse:
        return JSONResponse({"detail": "not this one"}, status_code=422)

    app = Starlette(routes=[Route("/ok", ok, methods=["POST"]), Route("/no", no, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())

    async def started() -> bool:
        return server.started

    await eventually(started, interval=0.01)
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.should_exit = True
        await serving


def _requests(count: int) -> list[SignedRequest]:
    headers = {"Content-Type": "application/json", "Content-Length": "999"}
    return [SignedRequest(f'{{"n": {n}}}'.encode(), headers) for n in range(count)]


async def test_every_request_is_posted_once_over_the_given_connections(
    recording_server: tuple[str, list[tuple[bytes, str, int]]],
) -> None:
    url, seen = recording_server
    elapsed = await post_all(f"{url}/ok", _requests(50), concurrency=3)
    assert elapsed > 0
    assert sorted(body for body, _, _ in seen) == sorted(request.body for request in _requests(50))
    assert {content_type for _, content_type, _ in seen} == {"application/json"}
    assert len({port for _, _, port in seen}) == 3


async def test_a_refusal_stops_the_measurement_with_the_status_and_body(
    recording_server: tuple[str, list[tuple[bytes, str, int]]],
) -> None:
    url, _ = recording_server
    with pytest.raises(RefusedPost, match=r"answered 422: .*not this one"):
        await post_all(f"{url}/no", _requests(3), concurrency=1)


async def test_a_server_that_drops_the_connection_fails_the_post_instead_of_hanging() -> None:
    async def drop(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(post_all(f"http://127.0.0.1:{port}/ok", _requests(2), concurrency=1), 10)
