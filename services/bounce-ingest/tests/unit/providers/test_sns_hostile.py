"""Hostile SNS notifications: a key folded into its neighbour, line breaks, replays of old captures."""

import json
from datetime import timedelta
from typing import Any

import pytest

from bounce_ingest.providers import ses
from bounce_ingest.providers.base import Unauthorized
from bounce_ingest.providers.signing import SnsSigner, sns_notification
from bounce_ingest.providers.sns_certificates import SnsCertificates

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"


def _captured(tmp_path, now, sample_json) -> tuple[dict[str, Any], ses.SesCredentials]:
    """A genuinely signed notification as an attacker would capture it, and the ingest's credentials."""
    signer = SnsSigner(tmp_path, "us-east-1")
    bounce = sample_json("ses/ses_bounce_permanent_general.anymail_from_awsdocs.json")
    signed = signer.sign(sns_notification(TOPIC, bounce, "sns-1", now))
    creds = ses.SesCredentials(frozenset([TOPIC]), SnsCertificates.from_dir(_NoFetch(), tmp_path), _NoFetch())
    return json.loads(signed.body), creds


class _NoFetch:
    async def get(self, url: str) -> bytes:
        raise AssertionError(f"nothing may be fetched here, asked for {url}")


async def test_the_timestamp_folded_into_the_message_id_keeps_the_bytes_but_is_refused(
    tmp_path, now, sample_json, make_request
) -> None:
    message, creds = _captured(tmp_path, now, sample_json)
    await ses.verify(make_request(message), creds, now)
    folded = {k: v for k, v in message.items() if k != "Timestamp"}
    folded["MessageId"] = f"{message['MessageId']}\nTimestamp\n{message['Timestamp']}"
    assert _legacy_canonical(folded) == _legacy_canonical(message), "the fold signs the same bytes"
    with pytest.raises(Unauthorized):
        await ses.verify(make_request(folded), creds, now)


@pytest.mark.parametrize("key", ["MessageId", "TopicArn", "Subject", "Timestamp", "Type"])
async def test_a_line_break_in_a_signed_value_is_refused(key: str, tmp_path, now, sample_json) -> None:
    message, _creds = _captured(tmp_path, now, sample_json)
    with pytest.raises(Unauthorized, match=r"line break|missing|unknown"):
        ses.canonical_string({**message, key: f"{message.get(key, 'x')}\r\nx"})


async def test_a_message_may_span_lines_because_the_key_after_it_is_required(tmp_path, now) -> None:
    signer = SnsSigner(tmp_path, "us-east-1")
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "m-1",
        "Token": "t",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe.\nTo confirm, visit the SubscribeURL.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t",
        "Timestamp": now.isoformat(),
    }
    assert signer.sign(confirmation).body
    without_id = {k: v for k, v in confirmation.items() if k != "MessageId"}
    with pytest.raises(Unauthorized, match="missing"):
        ses.canonical_string(without_id)


@pytest.mark.parametrize(
    ("age", "accepted"),
    [
        (timedelta(minutes=59), True),
        (timedelta(hours=1, seconds=1), False),
        (timedelta(days=400), False),
        (-timedelta(minutes=4), True),
        (-timedelta(minutes=6), False),
    ],
)
async def test_a_notification_older_than_an_hour_is_a_replay(
    age: timedelta, accepted: bool, tmp_path, now, sample_json, make_request
) -> None:
    message, creds = _captured(tmp_path, now - age, sample_json)
    if accepted:
        await ses.verify(make_request(message), creds, now)
    else:
        with pytest.raises(Unauthorized, match=r"older|future"):
            await ses.verify(make_request(message), creds, now)


async def test_an_unreadable_timestamp_is_refused(tmp_path, now, sample_json) -> None:
    message, _creds = _captured(tmp_path, now, sample_json)
    with pytest.raises(Unauthorized, match="Timestamp"):
        ses.check_fresh({**message, "Timestamp": "yesterday"}, now)


def _legacy_canonical(message: dict[str, Any]) -> bytes:
    """The string to sign as SNS defines it, with no guard: what the signature alone covers."""
    keys = ses.SIGNED_KEYS[message["Type"]]
    return "".join(f"{key}\n{message[key]}\n" for key in keys if key in message).encode()
