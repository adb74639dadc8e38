"""JSON nested 100,000 deep inside a provider field (or as the whole body) is bad input, never a crash."""

import json
from collections.abc import Callable
from typing import Any

import pytest

from bounce_ingest.providers import PROVIDERS
from bounce_ingest.providers.base import BadPayload, WebhookRequest
from bounce_ingest.providers.echoed_id import from_mapping
from bounce_ingest.records import ParsedRequest
from bounce_ingest.untrusted_json import NotJson, parse_json

MakeRequest = Callable[..., WebhookRequest]

DEEP = "[" * 100_000 + "]" * 100_000


def test_the_json_boundary_turns_any_depth_into_not_json() -> None:
    for text in (DEEP, "{" * 100_000, "[" * 5_000_000, b"\xff\xfe", "nan-ish"):
        with pytest.raises(NotJson):
            parse_json(text)
    assert parse_json(b'{"a": [1]}') == {"a": [1]}


def test_an_echoed_id_field_holding_deep_json_is_simply_absent() -> None:
    assert from_mapping(DEEP) is None
    assert from_mapping('{"seevee_message_id": "m-1"}') == "m-1"


FIELDS = [
    ("mailjet", "mailjet/bounce.docs_current_site.json", "Payload"),
    ("brevo", "brevo/hard_bounce.anymail_realworld.json", "X-Mailin-custom"),
    ("sendgrid", "sendgrid/docs2021_bounce_bounce.json", "custom_args"),
    ("postmark", "postmark/bounce_hard.anymail_test.json", "Metadata"),
]


@pytest.mark.parametrize(("provider", "sample", "field"), FIELDS)
def test_deep_json_inside_a_provider_field_parses_or_is_a_bad_payload(
    provider: str, sample: str, field: str, sample_json: Callable[[str], Any], make_request: MakeRequest
) -> None:
    body = sample_json(sample)
    for event in body if isinstance(body, list) else [body]:
        event[field] = DEEP
    parsed = PROVIDERS[provider].parse(make_request(json.dumps(body)))
    assert isinstance(parsed, ParsedRequest)
    assert all(record.seevee_message_id is None for record in parsed.records)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_a_deep_json_body_is_a_bad_payload(provider: str, make_request: MakeRequest) -> None:
    with pytest.raises(BadPayload):
        PROVIDERS[provider].parse(make_request(DEEP, {"content-type": "application/json"}))
