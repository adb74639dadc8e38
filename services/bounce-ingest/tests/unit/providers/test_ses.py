"""SES via SNS: the official AWS-signed vectors, certificate URL pinning, topic allow-list, confirmation."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bounce_ingest.providers import ses
from bounce_ingest.providers.base import BadPayload, Unauthorized
from bounce_ingest.providers.signing import SnsSigner, sns_notification
from bounce_ingest.providers.sns_certificates import SnsCertificates

VECTOR_TOPIC_PREFIX = "arn:aws:sns:us-east-2:295079676684:publish-and-verify-"
CERT_NAME = "SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem"


def vector(sample_json, version: str) -> dict[str, Any]:
    return sample_json(f"ses/sns_vectors/sns_notification_sigv{version}.json")


def signed_at(message: dict[str, Any]) -> datetime:
    """A clock a minute after the message was signed: AWS's vectors are from 2022."""
    return datetime.fromisoformat(message["Timestamp"]) + timedelta(minutes=1)


def credentials(fetcher, topics, cert_dir: Path | None) -> ses.SesCredentials:
    return ses.SesCredentials(frozenset(topics), SnsCertificates.from_dir(fetcher, cert_dir), fetcher)


@pytest.mark.parametrize("version", ["1", "2"])
async def test_official_vectors_verify_from_the_seeded_folder(
    sample_json, webhooks_dir, make_request, fetcher, now, version: str
) -> None:
    message = vector(sample_json, version)
    creds = credentials(fetcher, [message["TopicArn"]], webhooks_dir / "ses/sns_vectors")
    await ses.verify(
        make_request(message, {"x-amz-sns-message-type": "Notification"}), creds, signed_at(message)
    )
    assert fetcher.calls == []


@pytest.mark.parametrize("version", ["1", "2"])
async def test_a_changed_byte_fails(
    sample_json, webhooks_dir, make_request, fetcher, now, version: str
) -> None:
    message = vector(sample_json, version)
    creds = credentials(fetcher, [message["TopicArn"]], webhooks_dir / "ses/sns_vectors")
    with pytest.raises(Unauthorized, match="signature"):
        await ses.verify(make_request({**message, "Message": "Hello World"}), creds, signed_at(message))
    swapped = {**message, "SignatureVersion": "2" if version == "1" else "1"}
    with pytest.raises(Unauthorized):
        await ses.verify(make_request(swapped), creds, signed_at(message))


async def test_an_unseeded_certificate_is_fetched_once_from_the_pinned_url(
    sample_json, sample_bytes, make_request, fetcher, now
) -> None:
    message = vector(sample_json, "2")
    fetcher.answers[message["SigningCertURL"]] = sample_bytes(f"ses/sns_vectors/{CERT_NAME}")
    creds = credentials(fetcher, [message["TopicArn"]], None)
    await ses.verify(make_request(message), creds, signed_at(message))
    await ses.verify(make_request(message), creds, signed_at(message))
    assert fetcher.calls == [message["SigningCertURL"]]


async def test_a_certificate_seeded_under_its_host_folder(
    sample_json, sample_bytes, make_request, fetcher, now, tmp_path
) -> None:
    message = vector(sample_json, "1")
    (tmp_path / "sns.us-east-2.amazonaws.com").mkdir()
    (tmp_path / "sns.us-east-2.amazonaws.com" / CERT_NAME).write_bytes(
        sample_bytes(f"ses/sns_vectors/{CERT_NAME}")
    )
    await ses.verify(
        make_request(message), credentials(fetcher, [message["TopicArn"]], tmp_path), signed_at(message)
    )
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "cert_url",
    [
        f"http://sns.us-east-2.amazonaws.com/{CERT_NAME}",
        f"https://s3.amazonaws.com/bucket/{CERT_NAME}",
        f"https://sns.us-east-2.amazonaws.com.evil.example/{CERT_NAME}",
        f"https://evil.example/sns.us-east-2.amazonaws.com/{CERT_NAME}",
        f"https://sns.us-east-2.amazonaws.com/bucket/{CERT_NAME}",
        "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5.pem.evil",
        "https://sns.us-east-2.amazonaws.com/other.pem",
        f"https://sns.us-east-2.amazonaws.com:8443/{CERT_NAME}",
        f"https://user@sns.us-east-2.amazonaws.com/{CERT_NAME}",
        f"https://sns.us-east-2.amazonaws.com/{CERT_NAME}?x=1",
        f"https://sns.us-west-2.amazonaws.com/{CERT_NAME}",
        f"https://sns.us-east-2.amazonaws.com/../{CERT_NAME}",
    ],
)
async def test_certificate_url_pinning_rejects_without_fetching(
    sample_json, make_request, fetcher, now, cert_url: str
) -> None:
    message = {**vector(sample_json, "2"), "SigningCertURL": cert_url}
    creds = credentials(fetcher, [message["TopicArn"]], None)
    with pytest.raises(Unauthorized):
        await ses.verify(make_request(message), creds, signed_at(message))
    assert fetcher.calls == []


async def test_a_topic_outside_the_allow_list_is_refused_before_any_fetch(
    sample_json, make_request, fetcher, now
) -> None:
    message = vector(sample_json, "2")
    creds = credentials(fetcher, [VECTOR_TOPIC_PREFIX + "someone-else"], None)
    with pytest.raises(Unauthorized, match="allow-listed"):
        await ses.verify(make_request(message), creds, signed_at(message))
    assert fetcher.calls == []


async def test_unconfigured_and_malformed_messages_are_unauthorized(
    sample_json, webhooks_dir, make_request, fetcher, now
) -> None:
    message = vector(sample_json, "2")
    with pytest.raises(Unauthorized):
        await ses.verify(make_request(message), None, now)
    creds = credentials(fetcher, [message["TopicArn"]], webhooks_dir / "ses/sns_vectors")
    for broken in (
        {**message, "SignatureVersion": "3"},
        {**message, "Signature": "%%%"},
        {key: value for key, value in message.items() if key != "SigningCertURL"},
        {**message, "Type": "Other"},
    ):
        with pytest.raises(Unauthorized):
            await ses.verify(make_request(broken), creds, signed_at(message))
    with pytest.raises(Unauthorized, match="message-type"):
        await ses.verify(
            make_request(message, {"x-amz-sns-message-type": "SubscriptionConfirmation"}), creds, now
        )
    with pytest.raises(Unauthorized):
        await ses.verify(make_request(b"not json"), creds, signed_at(message))


TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
SUBSCRIBE_URL = f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=abc"


def confirmation(topic: str = TOPIC, subscribe_url: str = SUBSCRIBE_URL) -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "abc",
        "TopicArn": topic,
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": subscribe_url,
        "Timestamp": "2026-11-26T12:00:00.000Z",
    }


async def test_subscription_is_confirmed_for_an_allow_listed_topic(
    make_request, fetcher, now, tmp_path
) -> None:
    signer = SnsSigner(tmp_path, "us-east-1")
    fetcher.answers[SUBSCRIBE_URL] = b"<ConfirmSubscriptionResponse/>"
    signed = signer.sign(confirmation())
    await ses.verify(make_request(signed.body, signed.headers), credentials(fetcher, [TOPIC], tmp_path), now)
    assert fetcher.calls == [SUBSCRIBE_URL]
    parsed = ses.parse(make_request(signed.body, signed.headers))
    assert (parsed.records, parsed.ignored) == ([], {"SubscriptionConfirmation": 1})


async def test_subscription_for_another_topic_is_never_confirmed(
    make_request, fetcher, now, tmp_path
) -> None:
    signer = SnsSigner(tmp_path, "us-east-1")
    other = "arn:aws:sns:us-east-1:999999999999:attacker"
    signed = signer.sign(confirmation(topic=other, subscribe_url=SUBSCRIBE_URL.replace(TOPIC, other)))
    with pytest.raises(Unauthorized):
        await ses.verify(make_request(signed.body), credentials(fetcher, [TOPIC], tmp_path), now)
    assert fetcher.calls == []


@pytest.mark.parametrize(
    "subscribe_url",
    [
        "https://evil.example/?Action=ConfirmSubscription",
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com/?Action=Publish",
        "https://sns.us-east-1.amazonaws.com/x?Action=ConfirmSubscription",
    ],
)
async def test_a_subscribe_url_off_the_pinned_host_is_not_fetched(
    make_request, fetcher, now, tmp_path, subscribe_url: str
) -> None:
    signer = SnsSigner(tmp_path, "us-east-1")
    signed = signer.sign(confirmation(subscribe_url=subscribe_url))
    with pytest.raises(Unauthorized):
        await ses.verify(make_request(signed.body), credentials(fetcher, [TOPIC], tmp_path), now)
    assert fetcher.calls == []


async def test_self_signed_notification_round_trip(sample_json, make_request, fetcher, now, tmp_path) -> None:
    signer = SnsSigner(tmp_path, "us-east-1")
    bounce = sample_json("ses/ses_bounce_permanent_general.anymail_from_awsdocs.json")
    for version in ("1", "2"):
        signed = signer.sign(sns_notification(TOPIC, bounce, "sns-1", now), version)
        await ses.verify(
            make_request(signed.body, signed.headers), credentials(fetcher, [TOPIC], tmp_path), now
        )
    assert fetcher.calls == []


def test_sns_wrapped_bounce(sample_bytes, make_request) -> None:
    parsed = ses.parse(
        make_request(sample_bytes("ses/sns_notification_wrapping_ses_bounce.anymail_test.json"))
    )
    [record] = parsed.records
    assert record.recipient == "jane@example.com"
    assert record.provider_event_id == "19ba9823-d7f2-53c1-860e-cb10e0d13dfc"
    assert (record.category, record.reason, record.permanent) == ("mailbox_unknown", "userunknown", True)
    assert (record.smtp_code, record.smtp_status) == (550, "5.1.1")
    assert record.diagnostic == "smtp; 550 5.1.1 <jane@example.com>... User unknown"
    assert record.provider_message_id == "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000"
    assert record.smtp_message_id == "custom-message-ID"
    assert record.remote_mta == "127.0.2.0"
    assert record.occurred_at == datetime(2016, 1, 27, 14, 59, 44, 101000, tzinfo=UTC)
    assert record.raw_type == "Permanent/General"


def wrap(notification: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "sns-2",
        "TopicArn": TOPIC,
        "Message": json.dumps(notification),
        "Timestamp": "2026-11-26T12:00:00.000Z",
    }


def test_every_bounced_recipient_and_only_those(sample_json, make_request) -> None:
    bounce = sample_json("ses/ses_bounce_permanent_general.anymail_from_awsdocs.json")
    bounce["bounce"]["bouncedRecipients"].append({"emailAddress": "Mary@Example.com", "status": "5.1.1"})
    bounce["mail"]["tags"] = {"seevee_message_id": ["msg-77"]}
    records = ses.parse(make_request(wrap(bounce))).records
    assert [record.recipient for record in records] == ["jane@example.com", "mary@example.com"]
    assert {record.seevee_message_id for record in records} == {"msg-77"}


@pytest.mark.parametrize(
    ("bounce_type", "sub_type", "status", "category", "reason"),
    [
        ("Transient", "General", "5.1.1", "mailbox_unknown", "userunknown"),
        ("Transient", "MailboxFull", "4.2.2", "temporary", "mailboxfull"),
        ("Transient", "ContentRejected", "5.7.1", "spam_policy", "contenterror"),
        ("Permanent", "Suppressed", "5.1.1", "mailbox_unknown", "suppressed"),
        ("Permanent", "OnAccountSuppressionList", None, "mailbox_unknown", "suppressed"),
        ("Undetermined", "Undetermined", "5.7.1", "spam_policy", None),
    ],
)
def test_bounce_type_table(make_request, bounce_type, sub_type, status, category, reason) -> None:
    recipient: dict[str, Any] = {"emailAddress": "a@x.com"}
    if status:
        recipient["status"] = status
    notification = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [recipient],
            "timestamp": "2026-11-26T11:00:00Z",
        },
        "mail": {"messageId": "m"},
    }
    [record] = ses.parse(make_request(wrap(notification))).records
    assert record.category == category
    if reason:
        assert record.reason == reason


def test_complaint(sample_json, make_request) -> None:
    [record] = ses.parse(make_request(wrap(sample_json("ses/ses_complaint_abuse.anymail_test.json")))).records
    assert (record.kind, record.recipient, record.feedback_type) == (
        "complaint",
        "richard@example.com",
        "abuse",
    )
    assert record.occurred_at == datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.mark.parametrize("kind", ["Delivery", "Send", "Open", "Click", "DeliveryDelay"])
def test_other_events_are_counted(make_request, kind: str) -> None:
    parsed = ses.parse(make_request(wrap({"eventType": kind, "mail": {}})))
    assert (parsed.records, parsed.ignored) == ([], {kind: 1})


@pytest.mark.parametrize(
    "body",
    [
        {"Type": "Notification", "MessageId": "m", "Message": "not json"},
        {"Type": "Notification", "MessageId": "m", "Message": "{}"},
        {"Type": "Notification", "MessageId": "m", "Message": '{"notificationType": "Bounce"}'},
        {"Type": "Notification", "Message": "{}"},
        {"Type": "Mystery"},
        [],
    ],
)
def test_bad_payloads(make_request, body: Any) -> None:
    with pytest.raises(BadPayload):
        ses.parse(make_request(body))
