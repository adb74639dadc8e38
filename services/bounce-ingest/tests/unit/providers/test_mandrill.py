"""Mandrill: the self-made HMAC-SHA1 vector over URL + sorted fields, and the form-encoded samples."""

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from bounce_ingest.providers import mandrill
from bounce_ingest.providers.base import BadPayload, Unauthorized
from bounce_ingest.providers.signing import sign_mandrill

VECTOR = "mandrill/sig_test_vector.selfmade.json"


def vector_request(sample_json, make_request, url: str | None = None):
    vector = sample_json(VECTOR)
    body = urlencode(vector["post_params"]).encode()
    headers = {"X-Mandrill-Signature": vector["header_X-Mandrill-Signature"]}
    return vector, make_request(body, headers, url=url or vector["webhook_url_exactly_as_configured"])


async def test_selfmade_vector_verifies(sample_json, make_request, now) -> None:
    vector, request = vector_request(
        sample_json, make_request, url="http://internal:8001/v1/webhooks/mandrill"
    )
    configured = mandrill.MandrillCredentials(
        b"TEST_WEBHOOK_KEY", vector["webhook_url_exactly_as_configured"]
    )
    await mandrill.verify(request, configured, now)
    # Without a configured URL, the URL as received is what was signed.
    _, direct = vector_request(sample_json, make_request)
    await mandrill.verify(direct, mandrill.MandrillCredentials(b"TEST_WEBHOOK_KEY", None), now)


async def test_changed_byte_url_or_key_fails(sample_json, make_request, now) -> None:
    vector, request = vector_request(sample_json, make_request)
    credentials = mandrill.MandrillCredentials(
        b"TEST_WEBHOOK_KEY", vector["webhook_url_exactly_as_configured"]
    )
    tampered = make_request(request.body.replace(b"bounce%40", b"bouncf%40"), dict(request.headers))
    with pytest.raises(Unauthorized):
        await mandrill.verify(tampered, credentials, now)
    for wrong in (
        mandrill.MandrillCredentials(b"TEST_WEBHOOK_KEY", vector["webhook_url_exactly_as_configured"] + "/"),
        mandrill.MandrillCredentials(b"OTHER_KEY", vector["webhook_url_exactly_as_configured"]),
    ):
        with pytest.raises(Unauthorized):
            await mandrill.verify(request, wrong, now)
    with pytest.raises(Unauthorized):
        await mandrill.verify(make_request(request.body), credentials, now)
    with pytest.raises(Unauthorized):
        await mandrill.verify(request, None, now)


async def test_signer_round_trip_with_several_fields(make_request, now) -> None:
    signed = sign_mandrill("k", "https://hooks.example.com/m?x=1", [{"event": "send"}])
    credentials = mandrill.MandrillCredentials(b"k", "https://hooks.example.com/m?x=1")
    await mandrill.verify(make_request(signed.body, signed.headers), credentials, now)


def test_anymail_form_body(sample_bytes, make_request) -> None:
    [record] = mandrill.parse(make_request(sample_bytes("mandrill/hard_bounce.form_body.txt"))).records
    assert (record.recipient, record.provider_message_id) == (
        "bounce@example.com",
        "abcdef012345789abcdef012345789",
    )
    assert record.provider_event_id == "abcdef012345789abcdef012345789:hard_bounce:1461095246"
    assert (record.category, record.reason, record.smtp_code, record.smtp_status) == (
        "mailbox_unknown",
        "userunknown",
        550,
        "5.1.1",
    )
    assert record.extra == {"bounce_description": "bad_mailbox"}
    assert record.occurred_at == datetime.fromtimestamp(1461095246, UTC)


def test_mandrill_test_event_with_metadata(sample_json, make_request) -> None:
    events = sample_json("mandrill/hard_bounce.mandrill_test_event_via_mautic_test.json")
    events[0]["msg"]["metadata"] = {"seevee_message_id": "msg-2"}
    parsed = mandrill.parse(make_request(urlencode({"mandrill_events": json.dumps(events)})))
    [record] = parsed.records
    assert (record.recipient, record.seevee_message_id) == ("example.webhook@mandrillapp.com", "msg-2")


def test_mixed_batch(make_request) -> None:
    def event(kind: str, **msg: object) -> dict[str, object]:
        return {"event": kind, "_id": kind, "ts": 1700000000, "msg": {"email": "a@x.com", "_id": kind, **msg}}

    batch = [
        event("soft_bounce", bounce_description="mailbox_full", diag="smtp;452 4.2.2 over quota"),
        event("send"),
        event("open"),
        event("deferral"),
        event("reject"),
        event("spam"),
        {"type": "blacklist", "action": "add", "reject": {"email": "a@x.com"}},
    ]
    parsed = mandrill.parse(make_request(urlencode({"mandrill_events": json.dumps(batch)})))
    assert [(r.kind, r.raw_type, r.reason) for r in parsed.records] == [
        ("bounce", "soft_bounce", "mailboxfull"),
        ("bounce", "reject", "suppressed"),
        ("complaint", "spam", None),
    ]
    assert parsed.ignored == {"send": 1, "open": 1, "deferral": 1, "sync/blacklist": 1}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"mandrill_events=",
        b"other=1",
        b"mandrill_events=%7B%7D",
        b"mandrill_events=%5B1%5D",
        b"\xff=1",
        b"mandrill_events=%5B%7B%22event%22%3A%22hard_bounce%22%7D%5D",
    ],
)
def test_bad_payloads(make_request, body: bytes) -> None:
    with pytest.raises(BadPayload):
        mandrill.parse(make_request(body))
