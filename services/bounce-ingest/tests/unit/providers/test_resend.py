"""Resend: the official Svix vector, several signatures, the ±5 minute window, the real captures."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bounce_ingest.providers import resend
from bounce_ingest.providers.base import BadPayload, Unauthorized
from bounce_ingest.providers.signing import new_svix_secret, sign_svix

VECTOR = "resend/svix_sig_test_vector.json"


def vector_request(sample_json, make_request, signature: str | None = None) -> tuple[dict[str, Any], Any]:
    vector = sample_json(VECTOR)
    headers = dict(vector["headers"])
    if signature is not None:
        headers["svix-signature"] = signature
    return vector, make_request(vector["body"], headers)


def signed_at(vector: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(vector["headers"]["svix-timestamp"]), UTC)


async def test_official_vector_verifies(sample_json, make_request) -> None:
    vector, request = vector_request(sample_json, make_request)
    credentials = resend.SvixCredentials(resend.svix_key(vector["secret"]))
    await resend.verify(request, credentials, signed_at(vector))


async def test_changed_byte_and_negative_signature_fail(sample_json, make_request) -> None:
    vector, request = vector_request(sample_json, make_request)
    credentials = resend.SvixCredentials(resend.svix_key(vector["secret"]))
    tampered = make_request(request.body.replace(b"2432232314", b"2432232315"), dict(request.headers))
    with pytest.raises(Unauthorized):
        await resend.verify(tampered, credentials, signed_at(vector))
    _, negative = vector_request(sample_json, make_request, vector["negative_signature_should_fail"])
    with pytest.raises(Unauthorized):
        await resend.verify(negative, credentials, signed_at(vector))


async def test_any_of_several_signatures_may_match(sample_json, make_request) -> None:
    vector = sample_json(VECTOR)
    _, request = vector_request(sample_json, make_request, vector["multi_sig_header_example"])
    await resend.verify(request, resend.SvixCredentials(resend.svix_key(vector["secret"])), signed_at(vector))
    only_others = " ".join(
        entry
        for entry in vector["multi_sig_header_example"].split()
        if entry != vector["headers"]["svix-signature"]
    )
    _, request = vector_request(sample_json, make_request, only_others)
    with pytest.raises(Unauthorized):
        await resend.verify(
            request, resend.SvixCredentials(resend.svix_key(vector["secret"])), signed_at(vector)
        )


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(0), True),
        (timedelta(minutes=4, seconds=59), True),
        (-timedelta(minutes=5), True),
        (timedelta(minutes=5, seconds=1), False),
        (-timedelta(minutes=5, seconds=1), False),
        (timedelta(days=1), False),
    ],
)
async def test_timestamp_window(sample_json, make_request, offset: timedelta, accepted: bool) -> None:
    vector, request = vector_request(sample_json, make_request)
    credentials = resend.SvixCredentials(resend.svix_key(vector["secret"]))
    now = signed_at(vector) + offset
    if accepted:
        await resend.verify(request, credentials, now)
    else:
        with pytest.raises(Unauthorized, match="window"):
            await resend.verify(request, credentials, now)


async def test_missing_headers_and_unconfigured(make_request, now) -> None:
    secret = new_svix_secret()
    signed = sign_svix(secret, "msg_1", int(now.timestamp()), b"{}")
    credentials = resend.SvixCredentials(resend.svix_key(secret))
    await resend.verify(make_request(signed.body, signed.headers), credentials, now)
    with pytest.raises(Unauthorized):
        await resend.verify(make_request(signed.body, signed.headers), None, now)
    for missing in ("svix-id", "svix-timestamp", "svix-signature"):
        headers = {name: value for name, value in signed.headers.items() if name != missing}
        with pytest.raises(Unauthorized):
            await resend.verify(make_request(signed.body, headers), credentials, now)
    with pytest.raises(Unauthorized):
        await resend.verify(
            make_request(signed.body, {**signed.headers, "svix-timestamp": "soon"}), credentials, now
        )


def test_a_secret_that_is_not_base64_fails_at_startup() -> None:
    with pytest.raises(ValueError):
        resend.svix_key("whsec_***")


def test_hard_bounce_capture(sample_bytes, make_request) -> None:
    request = make_request(
        sample_bytes("resend/email.bounced_hard.anymail_realworld.json"), {"svix-id": "msg_2"}
    )
    [record] = resend.parse(request).records
    assert (record.recipient, record.provider_event_id) == ("bounced@resend.dev", "msg_2")
    assert record.provider_message_id == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert (record.category, record.reason, record.permanent) == ("mailbox_unknown", "userunknown", True)
    assert record.diagnostic is not None and record.diagnostic.startswith("The recipient's email provider")
    assert record.occurred_at == datetime(2023, 10, 2, 18, 11, 26, 101000, tzinfo=UTC)


def test_suppressed_capture(sample_bytes, make_request) -> None:
    request = make_request(
        sample_bytes("resend/email.bounced_suppressed.anymail_realworld.json"), {"svix-id": "m"}
    )
    [record] = resend.parse(request).records
    assert (record.recipient, record.reason) == ("blocked@example.org", "suppressed")


def test_complaint_and_delay(sample_bytes, make_request) -> None:
    [record] = resend.parse(
        make_request(sample_bytes("resend/email.complained.anymail_realworld.json"))
    ).records
    assert (record.kind, record.recipient) == ("complaint", "complained@resend.dev")
    assert record.provider_event_id.startswith("email.complained:aaaaaaaa")
    delayed = resend.parse(
        make_request(sample_bytes("resend/email.delivery_delayed.resend_docs_via_anymail.json"))
    )
    assert (delayed.records, delayed.ignored) == ([], {"email.delivery_delayed": 1})


def test_ses_shaped_bounce_with_tags(make_request) -> None:
    event = {
        "type": "email.bounced",
        "created_at": "2026-11-26T10:00:00.000Z",
        "data": {
            "email_id": "e-1",
            "to": ["Jane@Acme.com"],
            "tags": [{"name": "seevee_message_id", "value": "msg-6"}],
            "bounce": {
                "type": "Transient",
                "subType": "MailboxFull",
                "diagnosticCode": "smtp; 452 4.2.2 full",
            },
        },
    }
    [record] = resend.parse(make_request(event, {"svix-id": "msg_3"})).records
    assert (record.recipient, record.seevee_message_id, record.reason) == (
        "jane@acme.com",
        "msg-6",
        "mailboxfull",
    )
    assert (record.smtp_code, record.smtp_status) == (452, "4.2.2")


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'{"type": "email.bounced"}',
        b'{"type": "email.bounced", "data": {"to": []}}',
        b'{"type": "email.bounced", "data": {"to": [1]}, "created_at": "2026-01-01T00:00:00Z"}',
    ],
)
def test_bad_payloads(make_request, body: bytes) -> None:
    with pytest.raises(BadPayload):
        resend.parse(make_request(body))
