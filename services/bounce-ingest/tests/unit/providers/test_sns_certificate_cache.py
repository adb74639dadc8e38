"""Failed certificate fetches are remembered for a while (bounded), so a known TopicArn cannot make us
fetch once per request."""

import asyncio

import pytest

from bounce_ingest.providers import sns_certificates
from bounce_ingest.providers.base import ProviderUnavailable, Unauthorized
from bounce_ingest.providers.sns_certificates import SnsCertificates

URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{}.pem"


class FailingFetcher:
    """SNS answering 404 for certificates that do not exist, counting every GET."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def get(self, url: str) -> bytes:
        self.calls.append(url)
        await asyncio.sleep(0)
        raise ProviderUnavailable("SNS answered 404")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_failed_fetch_is_not_repeated_until_it_expires() -> None:
    fetcher, clock = FailingFetcher(), Clock()
    certificates = SnsCertificates(fetcher, clock=clock)
    for _ in range(50):
        with pytest.raises(ProviderUnavailable):
            await certificates.public_key(URL.format("ab12"))
    assert len(fetcher.calls) == 1
    clock.now += sns_certificates.FAILURE_TTL_SECONDS + 1
    with pytest.raises(ProviderUnavailable):
        await certificates.public_key(URL.format("ab12"))
    assert len(fetcher.calls) == 2


async def test_concurrent_requests_for_one_unknown_url_fetch_once() -> None:
    fetcher = FailingFetcher()
    certificates = SnsCertificates(fetcher, clock=Clock())
    results = await asyncio.gather(
        *(certificates.public_key(URL.format("cd34")) for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(result, ProviderUnavailable) for result in results)
    assert len(fetcher.calls) == 1


async def test_an_unreadable_certificate_is_remembered_too() -> None:
    class Garbage:
        calls = 0

        async def get(self, url: str) -> bytes:
            Garbage.calls += 1
            return b"not a certificate"

    certificates = SnsCertificates(Garbage(), clock=Clock())
    for _ in range(3):
        with pytest.raises(Unauthorized):
            await certificates.public_key(URL.format("ef56"))
    assert Garbage.calls == 1


async def test_the_failure_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sns_certificates, "MAX_FAILURES", 16)
    fetcher = FailingFetcher()
    certificates = SnsCertificates(fetcher, clock=Clock())
    for index in range(100):
        with pytest.raises(ProviderUnavailable):
            await certificates.public_key(URL.format(f"{index:04x}"))
    assert len(certificates._failures) == 16
    with pytest.raises(ProviderUnavailable):
        await certificates.public_key(URL.format(f"{99:04x}"))
    assert len(fetcher.calls) == 100, "the newest failures are the ones remembered"
