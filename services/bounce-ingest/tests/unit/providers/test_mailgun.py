"""Mailgun: the self-made HMAC vector, token replay, the docs samples (repaired where not JSON)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bounce_ingest.providers import mailgun
from bounce_ingest.providers.base import BadPayload, Unauthorized
from bounce_ingest.providers.replay import MemoryReplayGuard
from bounce_ingest.providers.signing import sign_mailgun

SIGNED_AT = datetime.fromtimestamp(1534110422, UTC)


def credentials(key: str = "TEST_WEBHOOK_SIGNING_KEY") -> mailgun.MailgunCredentials:
    return mailgun.MailgunCredentials(key.encode(), MemoryReplayGuard())


def envelope(event_data: dict[str, Any]) -> dict[str, Any]:
    return {"signature": {"timestamp": "1", "token": "t", "signature": "s"}, "event-data": event_data}


def test_selfmade_vector(sample_json) -> None:
    vector = sample_json("mailgun/sig_test_vector.selfmade.json")
    assert (
        mailgun.signature_for(b"TEST_WEBHOOK_SIGNING_KEY", vector["timestamp"], vector["token"])
        == (vector["expected_signature_hex"])
    )
    negative = vector["negative_case"]
    assert (
        mailgun.signature_for(negative["signing_key"].encode(), vector["timestamp"], vector["token"])
        == (negative["expected_signature_hex"])
    )


async def test_signed_sample_verifies_and_a_changed_byte_fails(sample_bytes, make_request) -> None:
    body = sample_bytes("mailgun/webhook_failed_permanent.signed_selfmade.json")
    await mailgun.verify(make_request(body), credentials(), SIGNED_AT + timedelta(minutes=1))
    tampered = body.replace(b'"token": "a8ce', b'"token": "b8ce')
    with pytest.raises(Unauthorized):
        await mailgun.verify(make_request(tampered), credentials(), SIGNED_AT)
    with pytest.raises(Unauthorized):
        await mailgun.verify(make_request(body), credentials("wrong signing key"), SIGNED_AT)


async def test_a_token_never_carries_a_second_event(make_request, now) -> None:
    creds = credentials("key")
    first = sign_mailgun(
        "key", {"event": "failed", "recipient": "a@x.com"}, int(now.timestamp()), token="tok"
    )
    await mailgun.verify(make_request(first.body), creds, now)
    # The provider's own retry of the same event is harmless (dedupe absorbs it) and passes.
    await mailgun.verify(make_request(first.body), creds, now + timedelta(minutes=10))
    replayed = json.loads(first.body)
    replayed["event-data"]["recipient"] = "victim@x.com"
    with pytest.raises(Unauthorized, match="already used"):
        await mailgun.verify(make_request(replayed), creds, now + timedelta(minutes=11))


async def test_stale_and_future_signatures_are_refused(make_request, now) -> None:
    creds = credentials("key")
    stale = sign_mailgun("key", {"event": "failed"}, int((now - timedelta(hours=13)).timestamp()))
    with pytest.raises(Unauthorized, match="window"):
        await mailgun.verify(make_request(stale.body), creds, now)
    future = sign_mailgun("key", {"event": "failed"}, int((now + timedelta(minutes=10)).timestamp()))
    with pytest.raises(Unauthorized, match="window"):
        await mailgun.verify(make_request(future.body), creds, now)
    retried = sign_mailgun("key", {"event": "failed"}, int((now - timedelta(hours=8)).timestamp()))
    await mailgun.verify(make_request(retried.body), creds, now)


@pytest.mark.parametrize("body", [b"", b"[]", b"{}", b'{"signature": "x"}', b'{"signature": {"token": "t"}}'])
async def test_unusable_envelopes_are_unauthorized(make_request, now, body: bytes) -> None:
    with pytest.raises(Unauthorized):
        await mailgun.verify(make_request(body), credentials(), now)
    with pytest.raises(Unauthorized):
        await mailgun.verify(make_request(body), None, now)


def test_signed_permanent_bounce(sample_bytes, make_request) -> None:
    parsed = mailgun.parse(
        make_request(sample_bytes("mailgun/webhook_failed_permanent.signed_selfmade.json"))
    )
    [record] = parsed.records
    assert record.recipient == "invalid@example.com"
    assert (record.category, record.reason, record.permanent) == ("mailbox_unknown", "userunknown", True)
    assert (record.smtp_code, record.smtp_status) == (550, "5.1.1")
    assert record.provider_message_id == "20180812214658.1.0DF563D0B3597700@example.org"
    assert record.smtp_message_id == record.provider_message_id
    assert record.remote_mta == "aspmx.l.example.org"
    # No event id in this fixture: the signature token stands in.
    assert record.provider_event_id == "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    assert record.occurred_at == datetime.fromtimestamp(1534110422.389832, UTC)


def test_suppress_bounce(sample_json, make_request) -> None:
    event = sample_json("mailgun/event_failed_permanent_suppress_bounce.docs.json")
    event["user-variables"] = {"seevee_message_id": "msg-9"}
    [record] = mailgun.parse(make_request(envelope(event))).records
    assert (record.recipient, record.provider_event_id) == ("slava@mailgun.com", "pl271FzxTTmGRW8Uj3dUWw")
    assert (record.category, record.reason, record.smtp_code) == ("mailbox_unknown", "suppressed", None)
    assert record.seevee_message_id == "msg-9"
    assert record.raw_type == "failed/permanent/suppress-bounce"


def test_temporary_failure_is_a_deferral(sample_json, make_request) -> None:
    parsed = mailgun.parse(make_request(envelope(sample_json("mailgun/event_failed_temporary.docs.json"))))
    assert (parsed.records, parsed.ignored) == ([], {"failed/temporary": 1})


def test_docs_samples_that_are_not_json_are_bad_payloads_until_repaired(sample_bytes, make_request) -> None:
    delayed = sample_bytes("mailgun/event_failed_permanent_delayed_bounce.docs.json")
    with pytest.raises(BadPayload):
        mailgun.parse(make_request(b'{"event-data": ' + delayed + b"}"))
    repaired = delayed.decode().rstrip().removesuffix(",")
    [record] = mailgun.parse(make_request('{"event-data": ' + repaired + "}")).records
    assert record.recipient == "christest123@test.com"
    assert (record.reason, record.smtp_code, record.smtp_status) == ("userunknown", 550, "5.1.1")
    assert record.raw_type == "failed/permanent/generic"

    complained = sample_bytes("mailgun/event_complained.docs.json").decode()
    repaired = complained.replace('"size": 18937\n  },\n}', '"size": 18937\n  }\n}')
    [complaint] = mailgun.parse(make_request('{"event-data": ' + repaired + "}")).records
    assert (complaint.kind, complaint.recipient) == ("complaint", "foo@example.com")
    assert complaint.provider_event_id == "ncV2XwymRUKbPek_MIM-Gw"


@pytest.mark.parametrize(
    ("reason", "status", "message", "category", "expected"),
    [
        ("bounce", "5.7.1", "5.7.1 Message rejected as spam", "spam_policy", None),
        ("bounce", None, "", "mailbox_unknown", "userunknown"),
        ("espblock", None, "", "spam_policy", "blocked"),
        ("old", None, "", "temporary", "expired"),
    ],
)
def test_reason_table(make_request, reason, status, message, category, expected) -> None:
    event = {
        "event": "failed",
        "id": "e1",
        "severity": "permanent",
        "reason": reason,
        "recipient": "a@x.com",
        "timestamp": 1700000000.5,
        "delivery-status": {"code": 550, "enhanced-code": status, "message": message},
    }
    [record] = mailgun.parse(make_request(envelope(event))).records
    assert record.category == category
    if expected:
        assert record.reason == expected


@pytest.mark.parametrize(
    ("reason", "code", "feedback_type"),
    [
        ("suppress-unsubscribe", 606, "unsubscribe"),
        (None, 606, "unsubscribe"),
        ("suppress-complaint", 607, None),
        (None, 607, None),
    ],
)
def test_suppressions_for_an_unsubscribe_or_a_spam_report_are_complaints(
    make_request, reason, code, feedback_type
) -> None:
    event = {
        "event": "failed",
        "id": "e3",
        "severity": "permanent",
        "recipient": "a@x.com",
        "timestamp": 1700000000,
        "delivery-status": {"code": code, "message": "", "description": "Not delivering"},
    }
    if reason:
        event["reason"] = reason
    [record] = mailgun.parse(make_request(envelope(event))).records
    assert (record.kind, record.feedback_type, record.category) == ("complaint", feedback_type, None)


def test_suppress_complaint_is_a_complaint(make_request) -> None:
    event = {
        "event": "failed",
        "id": "e2",
        "severity": "permanent",
        "reason": "suppress-complaint",
        "recipient": "a@x.com",
        "timestamp": 1700000000,
    }
    [record] = mailgun.parse(make_request(envelope(event))).records
    assert record.kind == "complaint"


@pytest.mark.parametrize(
    "body", [b"{}", b'{"event-data": []}', b'{"event-data": {"event": "failed"}}', b"nope"]
)
def test_bad_payloads(make_request, body: bytes) -> None:
    with pytest.raises(BadPayload):
        mailgun.parse(make_request(body))


def test_rejected_is_counted_not_stored(sample_bytes, make_request) -> None:
    rejected = sample_bytes("mailgun/event_rejected.docs.json").decode()
    repaired = rejected.replace('"event": "rejected"\n', '"event": "rejected",\n')
    parsed = mailgun.parse(make_request('{"event-data": ' + repaired + "}"))
    assert (parsed.records, parsed.ignored) == ([], {"rejected": 1})
