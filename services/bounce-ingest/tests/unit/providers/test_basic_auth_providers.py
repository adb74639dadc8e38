"""Postmark, SparkPost, Mailjet and Brevo: Basic credentials, and their saved samples."""

import base64
from datetime import UTC, datetime
from types import ModuleType

import pytest

from bounce_ingest.providers import brevo, mailjet, postmark, sparkpost
from bounce_ingest.providers.base import BadPayload, Unauthorized
from bounce_ingest.providers.basic_auth import BasicCredentials
from bounce_ingest.providers.signing import basic_auth_headers

BASIC_PROVIDERS = [postmark, sparkpost, mailjet, brevo]
CREDENTIALS = BasicCredentials("seevee", "s3cret:with:colons")


@pytest.mark.parametrize("provider", BASIC_PROVIDERS, ids=lambda module: module.NAME)
async def test_matching_credentials_pass(make_request, now, provider: ModuleType) -> None:
    await provider.verify(
        make_request(b"{}", basic_auth_headers("seevee:s3cret:with:colons")), CREDENTIALS, now
    )


@pytest.mark.parametrize("provider", BASIC_PROVIDERS, ids=lambda module: module.NAME)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"seevee:wrong").decode(),
        "Basic " + base64.b64encode(b"other:s3cret:with:colons").decode(),
        "Bearer " + base64.b64encode(b"seevee:s3cret:with:colons").decode(),
        "Basic !!!",
        "Basic",
    ],
)
async def test_anything_else_is_unauthorized(make_request, now, provider: ModuleType, authorization) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    with pytest.raises(Unauthorized):
        await provider.verify(make_request(b"{}", headers), CREDENTIALS, now)


@pytest.mark.parametrize("provider", BASIC_PROVIDERS, ids=lambda module: module.NAME)
async def test_unconfigured_rejects_everything(make_request, now, provider: ModuleType) -> None:
    with pytest.raises(Unauthorized, match="not configured"):
        await provider.verify(make_request(b"{}", basic_auth_headers("seevee:s3cret:with:colons")), None, now)


@pytest.mark.parametrize("value", ["nocolon", ":password", "user:"])
def test_a_malformed_setting_fails_at_startup(value: str) -> None:
    with pytest.raises(ValueError):
        BasicCredentials.from_setting(value)


# Postmark


def test_postmark_hard_bounce(sample_bytes, make_request) -> None:
    [record] = postmark.parse(make_request(sample_bytes("postmark/bounce_hard.anymail_test.json"))).records
    assert (record.provider, record.kind, record.recipient) == ("postmark", "bounce", "bounce@example.com")
    assert record.provider_event_id == "Bounce:901542550"
    assert record.provider_message_id == "2706ee8a-737c-4285-b032-ccd317af53ed"
    assert (record.category, record.reason, record.permanent) == ("mailbox_unknown", "userunknown", True)
    assert (record.smtp_code, record.smtp_status) == (550, "5.1.1")
    assert record.diagnostic == "smtp;550 5.1.1 The email account that you tried to reach does not exist."
    assert record.occurred_at == datetime(2016, 4, 27, 20, 28, 50, 396393, tzinfo=UTC)


def test_postmark_website_example_without_record_type(sample_json, make_request) -> None:
    event = sample_json("postmark/bounce_webhook.postmarkapp_email-webhooks_page.json")
    event["Metadata"]["seevee_message_id"] = "msg-5"
    [record] = postmark.parse(make_request(event)).records
    assert (record.recipient, record.provider_event_id, record.reason) == (
        "john@example.com",
        "Bounce:42",
        "userunknown",
    )
    assert record.seevee_message_id == "msg-5"


def test_postmark_spam_complaint_by_type_not_type_code(sample_bytes, make_request) -> None:
    [record] = postmark.parse(make_request(sample_bytes("postmark/spam_complaint.anymail_test.json"))).records
    assert (record.kind, record.recipient, record.provider_event_id) == (
        "complaint",
        "spam@example.com",
        "SpamComplaint:901542550",
    )


@pytest.mark.parametrize(
    ("bounce_type", "details", "category", "reason"),
    [
        ("SoftBounce", "smtp;452 4.2.2 Mailbox full", "temporary", "mailboxfull"),
        ("Blocked", "", "spam_policy", "blocked"),
        ("DMARCPolicy", "", "spam_policy", "authfailure"),
        ("ManuallyDeactivated", "", "mailbox_unknown", "suppressed"),
        ("BadEmailAddress", "", "mailbox_unknown", "userunknown"),
    ],
)
def test_postmark_type_table(make_request, bounce_type, details, category, reason) -> None:
    event = {
        "RecordType": "Bounce",
        "ID": 7,
        "Type": bounce_type,
        "Email": "A@x.com",
        "BouncedAt": "2026-01-01T00:00:00Z",
        "Details": details,
    }
    [record] = postmark.parse(make_request(event)).records
    assert (record.category, record.reason, record.recipient) == (category, reason, "a@x.com")


@pytest.mark.parametrize(
    ("event", "ignored"),
    [
        ({"RecordType": "Delivery", "MessageID": "x"}, {"Delivery": 1}),
        ({"RecordType": "Open"}, {"Open": 1}),
        ({"RecordType": "Bounce", "Type": "AutoResponder", "ID": 1}, {"Bounce/AutoResponder": 1}),
    ],
)
def test_postmark_non_bounces_are_counted(make_request, event, ignored) -> None:
    parsed = postmark.parse(make_request(event))
    assert (parsed.records, parsed.ignored) == ([], ignored)


# SparkPost


def test_sparkpost_class_10_bounce(sample_bytes, make_request) -> None:
    [record] = sparkpost.parse(
        make_request(sample_bytes("sparkpost/bounce_class10.anymail_test.json"))
    ).records
    assert (record.recipient, record.provider_event_id, record.provider_message_id) == (
        "bounce@example.com",
        "84345317653491230",
        "0004e3724f57753a3561",
    )
    assert (record.category, record.reason, record.smtp_code, record.smtp_status) == (
        "mailbox_unknown",
        "userunknown",
        550,
        "5.1.1",
    )
    assert record.extra == {"transmission_id": "84345317650824116"}
    assert record.occurred_at == datetime.fromtimestamp(1464824548, UTC)


def test_sparkpost_mixed_batch(sample_json, make_request) -> None:
    batch = sample_json("sparkpost/batch_mixed_events.sparkpost_samples_via_mautic_test.json")
    batch[0]["msys"]["message_event"]["rcpt_meta"] = {"seevee_message_id": "msg-1"}
    parsed = sparkpost.parse(make_request(batch))
    assert [(r.kind, r.raw_type, r.category) for r in parsed.records] == [
        ("bounce", "bounce/10", "mailbox_unknown"),
        ("complaint", "spam_complaint", None),
        ("bounce", "out_of_band/1", "spam_policy"),
        ("bounce", "policy_rejection/25", "mailbox_unknown"),
        ("bounce", "bounce/10", "mailbox_unknown"),
        ("bounce", "bounce/10", "mailbox_unknown"),
        ("bounce", "bounce/10", "mailbox_unknown"),
    ]
    assert parsed.records[0].seevee_message_id == "msg-1"
    assert parsed.records[1].feedback_type == "abuse"
    assert parsed.ignored == {"list_unsubscribe": 1, "link_unsubscribe": 1}


def test_sparkpost_ping(sample_bytes, make_request) -> None:
    parsed = sparkpost.parse(make_request(sample_bytes("sparkpost/ping_empty.anymail_test.json")))
    assert (parsed.records, parsed.ignored) == ([], {"ping": 1})


def test_sparkpost_mixed_with_delivery_open_and_delay(make_request) -> None:
    def event(kind: str, **fields: str) -> dict[str, object]:
        body = {"type": kind, "event_id": kind, "rcpt_to": "a@x.com", "timestamp": "1700000000", **fields}
        return {"msys": {"track_event" if kind == "open" else "message_event": body}}

    batch = [
        event("bounce", bounce_class="22"),
        event("delivery"),
        event("open"),
        event("delay"),
        event("bounce", bounce_class="60"),
    ]
    parsed = sparkpost.parse(make_request(batch))
    assert [(r.reason, r.category) for r in parsed.records] == [("mailboxfull", "temporary")]
    assert parsed.ignored == {"delivery": 1, "open": 1, "delay": 1, "bounce/60": 1}


# Mailjet


def test_mailjet_bounce(sample_bytes, make_request) -> None:
    [record] = mailjet.parse(make_request(sample_bytes("mailjet/bounce.docs_current_site.json"))).records
    assert (record.recipient, record.provider_message_id) == ("bounce@mailjet.com", "13792286917004336")
    assert record.provider_event_id == "13792286917004336:bounce:1430812195:bounce@mailjet.com"
    # Mailjet says "user unknown"; the comment says the host does not exist, which is more specific.
    assert (record.category, record.reason) == ("mailbox_unknown", "hostunknown")
    assert record.diagnostic.startswith("Host or domain name not found")
    assert record.extra == {"message_guid": "1ab23cd4-e567-8901-2345-6789f0gh1i2j"}
    assert record.seevee_message_id is None  # CustomID "helloworld" is not our tag form


def test_mailjet_verbatim_docs_sample_is_not_json(sample_bytes, make_request) -> None:
    with pytest.raises(BadPayload):
        mailjet.parse(make_request(sample_bytes("mailjet/bounce.docs_verbatim.json")))


def test_mailjet_blocked_spam_and_grouped_batch(sample_json, make_request) -> None:
    blocked = sample_json("mailjet/blocked.docs.json")
    blocked["Payload"] = '{"seevee_message_id": "msg-3"}'
    spam = sample_json("mailjet/spam.docs.json")
    spam["CustomID"] = "seevee_message_id:msg-4"
    sent = sample_json("mailjet/grouped_sent_batch.docs.json")
    parsed = mailjet.parse(make_request([*sent, blocked, spam]))
    assert [(r.kind, r.reason, r.seevee_message_id) for r in parsed.records] == [
        ("bounce", "userunknown", "msg-3"),
        ("complaint", None, "msg-4"),
    ]
    assert parsed.records[1].feedback_type == "JMRPP"
    assert parsed.ignored == {"sent": 2}


def test_mailjet_message_id_beyond_2_53_stays_exact(make_request) -> None:
    body = (
        b'{"event": "bounce", "time": 1, "MessageID": 19421777835146491,'
        b' "email": "a@x.com", "hard_bounce": true}'
    )
    [record] = mailjet.parse(make_request(body)).records
    assert record.provider_message_id == "19421777835146491"
    assert record.reason == "userunknown"


# Brevo


def test_brevo_hard_bounce(sample_bytes, make_request) -> None:
    [record] = brevo.parse(make_request(sample_bytes("brevo/hard_bounce.anymail_realworld.json"))).records
    assert record.recipient == "not-a-user@example.com"
    assert record.provider_message_id == "<201803011158.9876543210@smtp-relay.mailin.fr>"
    assert record.provider_event_id == (
        "<201803011158.9876543210@smtp-relay.mailin.fr>:hard_bounce:1520363423000:not-a-user@example.com"
    )
    assert (record.category, record.smtp_code, record.smtp_status) == ("mailbox_unknown", 550, "5.5.0")
    assert record.occurred_at == datetime.fromtimestamp(1520363423, UTC)


def test_brevo_samples(sample_json, make_request) -> None:
    names = ["soft_bounce", "blocked", "deferred_actually_hard"]
    events = [sample_json(f"brevo/{name}.anymail_realworld.json") for name in names]
    complaint = sample_json("brevo/complaint.anymail_from_docs.json")
    complaint["X-Mailin-custom"] = '{"seevee_message_id": "msg-8"}'
    error = sample_json("brevo/error.anymail_from_docs.json")
    parsed = brevo.parse(make_request([*events, complaint, error]))
    assert [(r.kind, r.raw_type, r.category) for r in parsed.records] == [
        ("bounce", "soft_bounce", "temporary"),
        ("bounce", "blocked", "mailbox_unknown"),
        ("complaint", "complaint", None),
    ]
    assert parsed.records[1].reason == "suppressed"
    assert parsed.records[2].seevee_message_id == "msg-8"
    assert parsed.records[2].occurred_at == datetime.fromtimestamp(1604933654, UTC)
    assert parsed.ignored == {"deferred": 1, "error": 1}
