"""GETs for SNS (signing certificates, subscription confirmations), only ever to the pinned AWS host."""

import httpx

from bounce_ingest.providers.base import ProviderUnavailable, Unauthorized
from bounce_ingest.providers.sns_certificates import sns_region

MAX_RESPONSE_BYTES = 1 << 20


class HttpxSnsFetcher:
    """``SnsFetcher`` over httpx: no redirects (they could leave the pinned host), a timeout, a size cap."""

    def __init__(
        self, timeout_seconds: float = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._timeout = timeout_seconds
        self._transport = transport

    async def get(self, url: str) -> bytes:
        if sns_region(url) is None:
            raise Unauthorized("SNS URLs must be https on sns.<region>.amazonaws.com")
        try:
            async with (
                httpx.AsyncClient(
                    timeout=self._timeout, follow_redirects=False, transport=self._transport
                ) as client,
                client.stream("GET", url) as response,
            ):
                if response.status_code != 200:
                    raise ProviderUnavailable(f"SNS answered {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body.extend(chunk)
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise ProviderUnavailable("SNS answer is unreasonably large")
                return bytes(body)
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"SNS is out of reach: {error!r}") from error
