"""What the load client costs per request, beside what the server costs: httpx against ``post_all``.

``python -m bench.http_cost [N]``: the bare endpoint of figure 6 (``bare_app.py``) under uvicorn, N
prepared `POST /v1/runs` per repetition (default 600) over 4 connections, three repetitions per client
in turns. Prints requests/s, this process's CPU per request (the client) and the server's. A client
that costs more than the server it loads measures itself: why ``http_load`` posts prepared bytes.
"""

import asyncio
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx

from bench.http_load import post_all
from bench.runs_api import JWT_SECRET, WORKSPACE, prepared_creations
from bench.servers import served
from bounce_ingest.providers.signing import SignedRequest
from seevee_shared.auth import issue_token

Poster = Callable[[str, Sequence[SignedRequest], int], Awaitable[float]]
CONNECTIONS = 4


async def httpx_post_all(url: str, requests: Sequence[SignedRequest], concurrency: int) -> float:
    """``post_all`` through one httpx client (what the bench used until 2026-12-08)."""
    queue = list(reversed(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:

        async def worker() -> None:
            while queue:
                request = queue.pop()
                (await client.post(url, content=request.body, headers=request.headers)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(count: int) -> None:
    token = issue_token(JWT_SECRET, "bench@seevee.test", WORKSPACE, ["user"])
    posters: dict[str, Poster] = {"httpx": httpx_post_all, "post_all": post_all}
    async with served("bench.bare_app:create_app", {}, Path(tempfile.mkdtemp()) / "bare.log") as bare:
        for repetition in range(3):
            for name, poster in posters.items():
                requests = prepared_creations(count, token)
                client, server = _own_cpu_seconds(), bare.cpu_seconds()
                elapsed = await poster(f"{bare.url}/v1/runs", requests, CONNECTIONS)
                client, server = _own_cpu_seconds() - client, bare.cpu_seconds() - server
                print(
                    f"{repetition} {name:<9} {count / elapsed:8,.0f} requests/s   client "
                    f"{client * 1000 / count:.3f} ms/request   server {server * 1000 / count:.3f} ms/request",
                    flush=True,
                )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 600))
