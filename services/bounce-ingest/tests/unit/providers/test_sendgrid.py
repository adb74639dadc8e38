"""SendGrid: the official ECDSA vector, the docs samples, and a mixed batch."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bounce_ingest.providers import sendgrid
from bounce_ingest.providers.base import BadPayload, Unauthorized
from bounce_ingest.providers.signing import SendGridSigner

VECTOR = "sendgrid/sig_test_vector.json"


def vector_request(
    sample_json: Callable[[str], Any], sample_bytes: Callable[[str], bytes], make_request: Any
) -> Any:
    vector = sample_json(VECTOR)
    return vector, make_request(
        sample_bytes("sendgrid/sig_test_vector_body.bin"),
        {
            "X-Twilio-Email-Event-Webhook-Signature": vector["header_X-Twilio-Email-Event-Webhook-Signature"],
            "x-twilio-email-event-webhook-timestamp": vector["header_X-Twilio-Email-Event-Webhook-Timestamp"],
        },
    )


async def test_official_vector_verifies(sample_json, sample_bytes, make_request, now) -> None:
    vector, request = vector_request(sample_json, sample_bytes, make_request)
    credentials = sendgrid.SendGridCredentials((sendgrid.load_public_key(vector["public_key_b64_spki"]),))
    await sendgrid.verify(request, credentials, now)


async def test_one_changed_byte_fails(sample_json, sample_bytes, make_request, now) -> None:
    vector, request = vector_request(sample_json, sample_bytes, make_request)
    credentials = sendgrid.SendGridCredentials((sendgrid.load_public_key(vector["public_key_b64_spki"]),))
    tampered = make_request(
        request.body.replace(b"hello@world.com", b"hellO@world.com"), dict(request.headers)
    )
    with pytest.raises(Unauthorized):
        await sendgrid.verify(tampered, credentials, now)
    stripped = make_request(request.body.rstrip(b"\r\n"), dict(request.headers))
    with pytest.raises(Unauthorized):
        await sendgrid.verify(stripped, credentials, now)


@pytest.mark.parametrize(
    ("key_field", "signature_field"),
    [("wrong_key_should_fail", None), ("public_key_b64_spki", "bad_signature_should_fail")],
)
async def test_official_negative_vectors_fail(
    sample_json, sample_bytes, make_request, now, key_field: str, signature_field: str | None
) -> None:
    vector, request = vector_request(sample_json, sample_bytes, make_request)
    headers = dict(request.headers)
    if signature_field:
        headers["X-Twilio-Email-Event-Webhook-Signature"] = vector[signature_field]
    credentials = sendgrid.SendGridCredentials((sendgrid.load_public_key(vector[key_field]),))
    with pytest.raises(Unauthorized):
        await sendgrid.verify(make_request(request.body, headers), credentials, now)


async def test_any_configured_key_may_match(sample_json, sample_bytes, make_request, now) -> None:
    vector, request = vector_request(sample_json, sample_bytes, make_request)
    keys = tuple(
        sendgrid.load_public_key(vector[name]) for name in ("wrong_key_should_fail", "public_key_b64_spki")
    )
    await sendgrid.verify(request, sendgrid.SendGridCredentials(keys), now)


async def test_unconfigured_or_unsigned_is_unauthorized(make_request, now) -> None:
    signer = SendGridSigner()
    signed = signer.sign([{"event": "bounce"}], 1_700_000_000)
    with pytest.raises(Unauthorized):
        await sendgrid.verify(make_request(signed.body, signed.headers), None, now)
    credentials = sendgrid.SendGridCredentials((sendgrid.load_public_key(signer.public_key_b64),))
    await sendgrid.verify(make_request(signed.body, signed.headers), credentials, now)
    with pytest.raises(Unauthorized):
        await sendgrid.verify(make_request(signed.body), credentials, now)
    headers = {**signed.headers, sendgrid.SIGNATURE_HEADER: "not base64!"}
    with pytest.raises(Unauthorized):
        await sendgrid.verify(make_request(signed.body, headers), credentials, now)


def test_a_key_that_is_not_p256_is_refused_at_startup() -> None:
    with pytest.raises(ValueError):
        sendgrid.load_public_key("bm90IGEga2V5")


def test_current_docs_bounce_uses_the_provider_classification(sample_json, make_request) -> None:
    event = sample_json("sendgrid/bounce_current_docs_via_sendgridkit_test.json")
    event["seevee_message_id"] = "msg-123"
    parsed = sendgrid.parse(make_request([event]))
    [record] = parsed.records
    assert record.kind == "bounce"
    assert record.provider == "sendgrid"
    assert record.recipient == "alex@example.com"
    assert record.provider_event_id == "6g4ZI7SA-xmRDv57GoPIPw=="
    assert record.provider_message_id == "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"
    assert record.smtp_message_id == "<14c5d75ce93.dfd.64b469@ismtpd-555>"
    assert record.seevee_message_id == "msg-123"
    assert (record.category, record.reason, record.permanent) == ("mailbox_unknown", "userunknown", True)
    assert (record.smtp_code, record.smtp_status) == (500, "5.0.0")
    assert record.diagnostic == "500 unknown recipient"
    assert record.occurred_at == datetime.fromtimestamp(1513299569, UTC)
    assert record.raw_type == "bounce/Invalid Address"


@pytest.mark.parametrize(
    ("classification", "category", "reason"),
    [
        ("Invalid Address", "mailbox_unknown", "userunknown"),
        ("Technical Failure", "temporary", "systemerror"),
        ("Frequency or Volume Too High", "temporary", "ratelimited"),
        ("Reputation", "spam_policy", "badreputation"),
        ("Content", "spam_policy", "contenterror"),
    ],
)
def test_bounce_classification_table(make_request, classification: str, category: str, reason: str) -> None:
    event = {
        "email": "Jane@Acme.com",
        "timestamp": 1700000000,
        "event": "bounce",
        "sg_event_id": "e1",
        "reason": "550 something",
        "status": "5.0.0",
        "type": "bounce",
        "bounce_classification": classification,
    }
    [record] = sendgrid.parse(make_request([event])).records
    assert record.recipient == "jane@acme.com"
    assert (record.category, record.reason) == (category, reason)


def test_blocked_without_classification_reads_the_text(sample_bytes, make_request) -> None:
    # "blocked" is coarse: the text "500 unknown recipient" (5.0.0, no SMTP command) is a missing mailbox.
    [record] = sendgrid.parse(make_request(sample_bytes("sendgrid/docs2021_bounce_blocked.json"))).records
    assert (record.category, record.reason, record.permanent) == ("mailbox_unknown", "userunknown", True)


def test_dropped_bounced_address_is_a_suppression(sample_bytes, make_request) -> None:
    [record] = sendgrid.parse(make_request(sample_bytes("sendgrid/docs2021_dropped.json"))).records
    assert (record.kind, record.category, record.reason) == ("bounce", "mailbox_unknown", "suppressed")
    assert record.provider_event_id == "zmzJhfJgAfUSOW80yEbPyw=="
    assert record.raw_type == "dropped/Bounced Address"


def test_spamreport_is_a_complaint(sample_bytes, make_request) -> None:
    [record] = sendgrid.parse(make_request(sample_bytes("sendgrid/docs2021_spamreport.json"))).records
    assert (record.kind, record.recipient, record.category) == ("complaint", "example@test.com", None)
    assert record.provider_event_id == "37nvH5QBz858KGVYCM4uOA=="


def test_deferred_is_only_counted(sample_bytes, make_request) -> None:
    parsed = sendgrid.parse(make_request(sample_bytes("sendgrid/docs2021_deferred.json")))
    assert parsed.records == []
    assert parsed.ignored == {"deferred": 1}


def test_mixed_batch_keeps_bounces_and_counts_the_rest(sample_bytes, make_request) -> None:
    parsed = sendgrid.parse(make_request(sample_bytes("sendgrid/docs2021_all_events_batch.json")))
    assert [(record.kind, record.raw_type) for record in parsed.records] == [
        ("bounce", "bounce"),
        ("bounce", "dropped/Bounced Address"),
        ("complaint", "spamreport"),
    ]
    assert parsed.ignored == {
        "processed": 1,
        "deferred": 1,
        "delivered": 1,
        "open": 1,
        "click": 1,
        "unsubscribe": 1,
        "group_unsubscribe": 1,
        "group_resubscribe": 1,
    }


@pytest.mark.parametrize(
    "body",
    [b"", b"{}", b'{"event": "bounce"}', b"[1]", b'[{"email": "a@b.c"}]', b'[{"event": "bounce"}]', b"\xff"],
)
def test_what_sendgrid_never_sends_is_a_bad_payload(make_request, body: bytes) -> None:
    with pytest.raises(BadPayload):
        sendgrid.parse(make_request(body))


async def test_signed_round_trip_of_a_batch(make_request, now) -> None:
    signer = SendGridSigner()
    events = [
        {"email": "a@x.com", "timestamp": 1700000000, "event": "delivered", "sg_event_id": "d1"},
        {
            "email": "b@x.com",
            "timestamp": 1700000001,
            "event": "bounce",
            "sg_event_id": "b1",
            "reason": "550 5.1.1 user unknown",
            "status": "5.1.1",
            "type": "bounce",
            "seevee_message_id": "m-1",
        },
        {"email": "c@x.com", "timestamp": 1700000002, "event": "open", "sg_event_id": "o1"},
    ]
    signed = signer.sign(events, 1700000005)
    request = make_request(signed.body, signed.headers)
    await sendgrid.verify(
        request, sendgrid.SendGridCredentials((sendgrid.load_public_key(signer.public_key_b64),)), now
    )
    parsed = sendgrid.parse(request)
    assert [(r.recipient, r.provider_event_id, r.seevee_message_id, r.reason) for r in parsed.records] == [
        ("b@x.com", "b1", "m-1", "userunknown")
    ]
    assert parsed.ignored == {"delivered": 1, "open": 1}
