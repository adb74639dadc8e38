"""Fixtures of the provider tests: the shared samples read in place, and requests built from them."""

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bounce_ingest.providers.base import Headers, ProviderUnavailable, WebhookRequest
from seevee_shared.reference_data import shared_dir

MakeRequest = Callable[..., WebhookRequest]


@pytest.fixture(scope="session")
def webhooks_dir() -> Path:
    folder = shared_dir() / "webhooks"
    if not folder.is_dir():
        pytest.skip(f"shared webhook samples not found at {folder}")
    return folder


@pytest.fixture(scope="session")
def sample_bytes(webhooks_dir: Path) -> Callable[[str], bytes]:
    def read(relative: str) -> bytes:
        return (webhooks_dir / relative).read_bytes()

    return read


@pytest.fixture(scope="session")
def sample_json(webhooks_dir: Path) -> Callable[[str], Any]:
    def read(relative: str) -> Any:
        return json.loads((webhooks_dir / relative).read_text())

    return read


def build_request(
    body: bytes | str | Any,
    headers: Mapping[str, str] | None = None,
    url: str = "https://ingest.example.com/v1/webhooks/test",
    method: str = "POST",
) -> WebhookRequest:
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return WebhookRequest(method=method, url=url, headers=Headers(headers or {}), body=body)


@pytest.fixture(scope="session")
def make_request() -> MakeRequest:
    return build_request


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class RecordingFetcher:
    """The SNS fetcher of the tests: answers from a dict and remembers every URL asked for."""

    def __init__(self, answers: dict[str, bytes] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[str] = []

    async def get(self, url: str) -> bytes:
        self.calls.append(url)
        if url not in self.answers:
            raise ProviderUnavailable(f"no answer for {url}")
        return self.answers[url]


@pytest.fixture
def fetcher() -> RecordingFetcher:
    return RecordingFetcher()
