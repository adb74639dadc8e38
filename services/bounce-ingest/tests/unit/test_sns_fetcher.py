"""SNS GETs stay on the pinned host, follow no redirect, and report an unreachable SNS as retryable."""

import httpx
import pytest

from bounce_ingest.providers.base import ProviderUnavailable, Unauthorized
from bounce_ingest.sns_fetcher import MAX_RESPONSE_BYTES, HttpxSnsFetcher

PINNED = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"


def _fetcher(answer: httpx.Response, seen: list[str]) -> HttpxSnsFetcher:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return answer

    return HttpxSnsFetcher(transport=httpx.MockTransport(handle))


async def test_a_pinned_url_is_fetched() -> None:
    seen: list[str] = []
    assert await _fetcher(httpx.Response(200, content=b"PEM"), seen).get(PINNED) == b"PEM"
    assert seen == [PINNED]


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.us-east-1.amazonaws.com.evil.test/SimpleNotificationService-abc.pem",
        "https://bucket.s3.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-abc.pem",
    ],
)
async def test_anything_off_the_pinned_host_is_never_fetched(url: str) -> None:
    seen: list[str] = []
    with pytest.raises(Unauthorized):
        await _fetcher(httpx.Response(200, content=b"PEM"), seen).get(url)
    assert seen == []


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(302, headers={"Location": "https://evil.test/cert.pem"}),
        httpx.Response(503),
        httpx.Response(200, content=b"x" * (MAX_RESPONSE_BYTES + 1)),
    ],
    ids=["redirect", "unavailable", "oversized"],
)
async def test_unusable_answers_are_retryable_failures(answer: httpx.Response) -> None:
    with pytest.raises(ProviderUnavailable):
        await _fetcher(answer, []).get(PINNED)


async def test_a_network_error_is_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ProviderUnavailable):
        await HttpxSnsFetcher(transport=httpx.MockTransport(refuse)).get(PINNED)
