"""Closed-loop HTTP load: a few workers post prepared requests back to back, as a provider's retry pool."""

import asyncio
import time
from collections.abc import Sequence

import httpx

from bounce_ingest.providers.signing import SignedRequest


class RefusedPost(RuntimeError):
    """A figure counts only accepted work: any non-2xx stops the measurement."""


async def post_all(url: str, requests: Sequence[SignedRequest], concurrency: int) -> float:
    """Post every request (each once) with ``concurrency`` connections; returns the elapsed seconds."""
    queue: asyncio.Queue[SignedRequest] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120.0, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                request = queue.get_nowait()
                answer = await client.post(url, content=request.body, headers=request.headers)
                if not answer.is_success:
                    raise RefusedPost(f"{url} answered {answer.status_code}: {answer.text[:300]}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started
