"""Closed-loop HTTP load: a few workers post prepared requests back to back, as a provider's retry pool.

The load must cost far less than what it measures: on this machine httpx spent about 1 ms of CPU per
request, ten times the bare endpoint's own cost, so the anchors measured the client. Each request is
therefore written as prepared bytes on a keep-alive connection and its answer parsed by llhttp
(``httptools``, which uvicorn uses on the server side): about 0.03 ms per request.
"""

import asyncio
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import httptools

from bounce_ingest.providers.signing import SignedRequest

ANSWER_TIMEOUT_SECONDS = 120.0


class RefusedPost(RuntimeError):
    """A figure counts only accepted work: any non-2xx stops the measurement."""


class _KeepAlive(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: a request written whole, its answer parsed as it arrives."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer: asyncio.Future[tuple[int, bytes]] | None = None
        self._body = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_result((self._parser.get_status_code(), bytes(self._body)))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        if self._answer is not None and not self._answer.done():
            self._answer.set_exception(exc)

    async def exchange(self, raw: bytes) -> tuple[int, bytes]:
        """The status and body answering ``raw`` (a whole request)."""
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("the server closed the connection")
        self._body = bytearray()
        self._answer = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return await asyncio.wait_for(self._answer, ANSWER_TIMEOUT_SECONDS)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def raw_post(path: str, host: str, request: SignedRequest) -> bytes:
    """``request`` as the bytes of an HTTP/1.1 POST (its own Content-Length, any given one dropped)."""
    head = [f"POST {path} HTTP/1.1", f"Host: {host}"]
    head += [
        f"{name}: {value}" for name, value in request.headers.items() if name.lower() != "content-length"
    ]
    head.append(f"Content-Length: {len(request.body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + request.body


async def post_all(url: str, requests: Sequence[SignedRequest], concurrency: int) -> float:
    """Post every request (each once) with ``concurrency`` connections; returns the elapsed seconds."""
    target = urlsplit(url)
    if target.scheme != "http" or target.hostname is None or target.port is None:
        raise ValueError(f"an http:// URL with a port is needed, not {url!r}")
    raws = [raw_post(target.path or "/", target.netloc, request) for request in requests]
    loop = asyncio.get_running_loop()
    connections: list[_KeepAlive] = []
    position = 0

    async def worker(connection: _KeepAlive) -> None:
        nonlocal position
        while position < len(raws):
            raw, position = raws[position], position + 1
            status, body = await connection.exchange(raw)
            if not 200 <= status < 300:
                raise RefusedPost(f"{url} answered {status}: {body[:300].decode(errors='replace')}")

    try:
        for _ in range(concurrency):
            _, connection = await loop.create_connection(_KeepAlive, target.hostname, target.port)
            connections.append(connection)
        started = time.perf_counter()
        await asyncio.gather(*(worker(connection) for connection in connections))
        return time.perf_counter() - started
    finally:
        for connection in connections:
            connection.close()
