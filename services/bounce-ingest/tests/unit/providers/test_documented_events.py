"""Every fixture written from a provider's documentation, through that provider's parser.

Each ``tests/fixtures/providers/<esp>/<case>.json`` holds one event as the provider posts it and the
outcome its docs imply (``bounce`` with category, reason, permanence; ``complaint`` with its feedback
type; or ``neither``). The same files go through the real HTTP endpoint in the integration tests.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bounce_ingest.providers import PROVIDERS
from bounce_ingest.providers.base import Headers, WebhookRequest
from bounce_ingest.providers.signing import WebhookSigners
from bounce_ingest.records import ParsedRequest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers"
CASES = sorted(FIXTURES.glob("*/*.json"))
AT = datetime(2026, 11, 20, 12, tzinfo=UTC)


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def outcome(parsed: ParsedRequest) -> dict[str, Any]:
    """The fixture's ``expect`` shape of what a parser made of one event."""
    if not parsed.records:
        return {"outcome": "neither"}
    [record] = parsed.records
    if record.kind == "complaint":
        found: dict[str, Any] = {"outcome": "complaint"}
        if record.feedback_type:
            found["feedback_type"] = record.feedback_type
        return found
    return {
        "outcome": "bounce",
        "category": record.category,
        "reason": record.reason,
        "permanent": record.permanent,
    }


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> WebhookSigners:
    return WebhookSigners.create(tmp_path_factory.mktemp("sns"))


def test_every_provider_has_fixtures() -> None:
    assert {path.parent.name for path in CASES} == set(PROVIDERS)


@pytest.mark.parametrize("path", CASES, ids=case_id)
def test_documented_event_parses_to_its_outcome(path: Path, signers: WebhookSigners) -> None:
    case = json.loads(path.read_text())
    provider = path.parent.name
    signed = signers.post(provider, case["payload"], f"evt-{path.stem}", AT)
    request = WebhookRequest("POST", signers.mandrill_url, Headers(signed.headers), signed.body)
    found = outcome(PROVIDERS[provider].parse(request))
    expected = case["expect"]
    assert {key: found.get(key) for key in expected} == expected, case["about"]
