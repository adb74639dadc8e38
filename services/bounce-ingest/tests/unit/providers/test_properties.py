"""Random and mutated input: parse gives a ParsedRequest or BadPayload, verify passes or says Unauthorized.

Nothing else may escape: an exception of another type would be a 500 for bad input.
"""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounce_ingest.providers import PROVIDERS
from bounce_ingest.providers.base import (
    BadPayload,
    Headers,
    ProviderUnavailable,
    Unauthorized,
    WebhookRequest,
)
from bounce_ingest.providers.basic_auth import BasicCredentials
from bounce_ingest.providers.mailgun import MailgunCredentials
from bounce_ingest.providers.mandrill import MandrillCredentials
from bounce_ingest.providers.replay import MemoryReplayGuard
from bounce_ingest.providers.resend import SvixCredentials
from bounce_ingest.providers.sendgrid import SendGridCredentials
from bounce_ingest.providers.ses import SesCredentials
from bounce_ingest.providers.signing import SendGridSigner
from bounce_ingest.providers.sns_certificates import SnsCertificates
from bounce_ingest.records import ParsedRequest
from seevee_shared.reference_data import shared_dir

WEBHOOKS = shared_dir() / "webhooks"
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
pytestmark = pytest.mark.skipif(not WEBHOOKS.is_dir(), reason="shared webhook samples not found")

json_leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _load(relative: str) -> Any:
    try:
        return json.loads((WEBHOOKS / relative).read_text())
    except (OSError, ValueError):
        return None


def _samples(folder: str) -> list[Any]:
    found = []
    for path in sorted((WEBHOOKS / folder).glob("*.json")) if WEBHOOKS.is_dir() else []:
        if "vector" not in path.name and (value := _load(f"{folder}/{path.name}")) is not None:
            found.append(value)
    return found


def _mailgun_samples() -> list[Any]:
    signed = _samples("mailgun")
    return [
        sample if "signature" in sample else {"signature": {"token": "t"}, "event-data": sample}
        for sample in signed
        if isinstance(sample, dict)
    ]


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers"


def _as_body(provider: str, payload: Any) -> Any | None:
    """A documented-event fixture as the JSON document its provider posts (before encoding)."""
    if provider in {"sendgrid", "sparkpost", "mandrill"}:
        return [payload]
    if provider == "mailgun":
        return None if "form" in payload else {"signature": {"token": "t"}, "event-data": payload}
    if provider == "ses":
        return {
            "Type": "Notification",
            "MessageId": "m",
            "Timestamp": "2026-01-01T00:00:00Z",
            "Message": payload,
        }
    return payload


def _own_fixtures(provider: str) -> list[Any]:
    found = []
    for path in sorted((FIXTURES / provider).glob("*.json")):
        body = _as_body(provider, json.loads(path.read_text())["payload"])
        if body is not None:
            found.append(body)
    return found


SAMPLES: dict[str, list[Any]] = {name: _samples(name) for name in PROVIDERS if name not in {"mailgun", "ses"}}
SAMPLES["mailgun"] = _mailgun_samples()
SAMPLES["ses"] = [sample for sample in _samples("ses") if isinstance(sample, dict) and "Type" in sample] + [
    {"Type": "Notification", "MessageId": "m", "Timestamp": "2026-01-01T00:00:00Z", "Message": sample}
    for sample in _samples("ses")
    if isinstance(sample, dict) and "notificationType" in sample
]
for _name in PROVIDERS:
    SAMPLES[_name] += _own_fixtures(_name)


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """The value with some nodes replaced by random JSON, some keys dropped, the rest kept."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(json_values)
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if draw(st.integers(0, 9)) == 0:
                continue
            result[key] = draw(mutated(item))
        return result
    if isinstance(value, list):
        return [draw(mutated(item)) for item in value]
    if isinstance(value, str) and value.startswith(("{", "[")):
        try:
            inner = json.loads(value)
        except ValueError:
            return value
        return json.dumps(draw(mutated(inner)))
    return value


def encode(provider: str, document: Any) -> bytes:
    if provider == "ses" and isinstance(document, dict) and isinstance(document.get("Message"), dict | list):
        document = {**document, "Message": json.dumps(document["Message"])}
    text = json.dumps(document)
    return urlencode({"mandrill_events": text}).encode() if provider == "mandrill" else text.encode()


def request(body: bytes, headers: dict[str, str] | None = None) -> WebhookRequest:
    return WebhookRequest(
        "POST", "https://ingest.example.com/hook", Headers(headers or {"svix-id": "m"}), body
    )


def parse_safely(provider: str, body: bytes) -> None:
    try:
        result = PROVIDERS[provider].parse(request(body))
    except BadPayload:
        return
    assert isinstance(result, ParsedRequest)
    for record in result.records:
        assert record.recipient == record.recipient.strip().lower()
        assert record.provider == provider
        assert record.kind in {"bounce", "complaint"}
        assert record.occurred_at.tzinfo is not None


FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@FAST
@given(data=st.data())
def test_mutated_samples_parse_or_are_bad_payloads(provider: str, data: st.DataObject) -> None:
    samples = SAMPLES[provider]
    assert samples, f"no samples for {provider}"
    sample = data.draw(st.sampled_from(samples))
    parse_safely(provider, encode(provider, data.draw(mutated(sample))))


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@FAST
@given(body=st.binary(max_size=200) | json_values.map(lambda value: json.dumps(value).encode()))
def test_random_bodies_parse_or_are_bad_payloads(provider: str, body: bytes) -> None:
    parse_safely(provider, body)
    parse_safely(provider, urlencode({"mandrill_events": body.decode("latin-1")}).encode())


class NoFetch:
    async def get(self, url: str) -> bytes:
        raise ProviderUnavailable(url)


def credentials() -> dict[str, Any]:
    basic = BasicCredentials("user", "password")
    signer = SendGridSigner()
    from bounce_ingest.providers.sendgrid import load_public_key

    return {
        "sendgrid": SendGridCredentials((load_public_key(signer.public_key_b64),)),
        "mailgun": MailgunCredentials(b"key", MemoryReplayGuard()),
        "postmark": basic,
        "sparkpost": basic,
        "mailjet": basic,
        "brevo": basic,
        "ses": SesCredentials(
            frozenset(
                {"arn:aws:sns:us-east-2:295079676684:publish-and-verify-62674b1d-4295-426b-88e7-5fb75652a04e"}
            ),
            SnsCertificates.from_dir(NoFetch(), WEBHOOKS / "ses" / "sns_vectors"),
            NoFetch(),
        ),
        "resend": SvixCredentials(b"secret"),
        "mandrill": MandrillCredentials(b"key", None),
    }


CREDENTIALS = credentials() if WEBHOOKS.is_dir() else {}
header_names = st.sampled_from(
    [
        "authorization",
        "x-twilio-email-event-webhook-signature",
        "x-twilio-email-event-webhook-timestamp",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "x-mandrill-signature",
        "x-amz-sns-message-type",
    ]
)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@FAST
@given(data=st.data())
async def test_verify_only_ever_says_unauthorized(provider: str, data: st.DataObject) -> None:
    samples = SAMPLES[provider] or [{}]
    body = data.draw(
        st.binary(max_size=100)
        | st.sampled_from(samples).flatmap(mutated).map(lambda doc: encode(provider, doc))
    )
    headers = data.draw(st.dictionaries(header_names, st.text(max_size=40), max_size=4))
    try:
        await PROVIDERS[provider].verify(request(body, headers), CREDENTIALS[provider], NOW)
    except (Unauthorized, ProviderUnavailable):
        return


def test_every_sample_folder_was_found() -> None:
    assert all(SAMPLES[name] for name in PROVIDERS)
    assert Path(WEBHOOKS).is_dir()
