"""Bounce reports: each kind reads as the remote server and the provider would put it, echoing our id."""

import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.bounce_payloads import (
    STORIES,
    BounceKind,
    sendgrid_bounce,
    sendgrid_delivered,
    ses_bounce,
    sns_notification,
)
from sandbox.sends import Send

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TOPIC = "arn:aws:sns:us-east-1:000000000000:sandbox"


def a_send(provider: str = "sendgrid") -> Send:
    return Send(
        workspace_id="ws-a",
        message_id="2f6c1a9e-0d7b-4d8a-9c55-3b1e7f0a4c21",
        thread_id="thread-1",
        contact_id="contact-1",
        run_id="run-1",
        run_step=1,
        recipient="lena.fischer@kestrel-logistics.example",
        sender_mailbox="sam@seevee-demo.example",
        provider=provider,  # type: ignore[arg-type]
        provider_message_id="LRzXl_NHStOGhQ4kofSm_A",
        smtp_message_id="<2f6c1a9e.1@seevee-demo.example>",
        subject="Quick introduction",
        sent_at=NOW - timedelta(minutes=1),
    )


@pytest.mark.parametrize(
    ("kind", "category", "status", "words"),
    [
        (BounceKind.MAILBOX_UNKNOWN, "mailbox_unknown", "5.1.1", "User unknown"),
        (BounceKind.DEAD_DOMAIN, "mailbox_unknown", "5.1.2", "name=kestrel-logistics.example"),
        (BounceKind.MAILBOX_FULL, "temporary", "4.2.2", "Mailbox full"),
        (BounceKind.SPAM_POLICY, "spam_policy", "5.7.1", "rejected as spam"),
    ],
)
def test_each_kind_tells_its_story(kind: BounceKind, category: str, status: str, words: str) -> None:
    story = STORIES[kind]
    diagnostic = story.diagnostic("lena.fischer@kestrel-logistics.example")

    assert story.category == category
    assert diagnostic.split()[1] == status
    assert diagnostic[0] == status[0]  # the reply code's class matches the enhanced status
    assert words in diagnostic


@pytest.mark.parametrize("kind", list(BounceKind))
def test_a_sendgrid_bounce_echoes_our_ids(kind: BounceKind) -> None:
    event = sendgrid_bounce(a_send(), kind, NOW, random.Random(1))

    assert event["event"] == "bounce"
    assert event["email"] == "lena.fischer@kestrel-logistics.example"
    assert event["seevee_message_id"] == "2f6c1a9e-0d7b-4d8a-9c55-3b1e7f0a4c21"
    assert event["sg_message_id"].startswith("LRzXl_NHStOGhQ4kofSm_A.")
    assert event["smtp-id"] == "<2f6c1a9e.1@seevee-demo.example>"
    assert event["status"] == STORIES[kind].status
    assert event["timestamp"] == int(NOW.timestamp())
    assert event["type"] == ("blocked" if kind is BounceKind.SPAM_POLICY else "bounce")


def test_every_sendgrid_event_has_its_own_event_id() -> None:
    rng = random.Random(2)
    events = [sendgrid_bounce(a_send(), kind, NOW, rng) for kind in BounceKind]
    events.append(sendgrid_delivered(a_send(), NOW, rng))

    assert len({event["sg_event_id"] for event in events}) == len(events)
    assert events[-1]["event"] == "delivered"


@pytest.mark.parametrize("kind", list(BounceKind))
def test_an_ses_bounce_carries_our_id_as_a_message_tag(kind: BounceKind) -> None:
    event = ses_bounce(a_send("ses"), kind, NOW, random.Random(3))
    recipient = event["bounce"]["bouncedRecipients"][0]

    assert event["eventType"] == "Bounce"
    assert event["mail"]["tags"]["seevee_message_id"] == ["2f6c1a9e-0d7b-4d8a-9c55-3b1e7f0a4c21"]
    assert event["mail"]["messageId"] == "LRzXl_NHStOGhQ4kofSm_A"
    assert event["mail"]["commonHeaders"]["messageId"] == "<2f6c1a9e.1@seevee-demo.example>"
    assert recipient["emailAddress"] == "lena.fischer@kestrel-logistics.example"
    assert recipient["status"] == STORIES[kind].status
    assert recipient["diagnosticCode"].startswith("smtp; ")
    assert event["bounce"]["bounceType"] == STORIES[kind].ses_type
    assert event["bounce"]["timestamp"] == "2026-11-26T12:00:00.000Z"


def test_the_sns_envelope_wraps_the_event_as_a_json_string() -> None:
    event = ses_bounce(a_send("ses"), BounceKind.MAILBOX_UNKNOWN, NOW, random.Random(4))
    envelope = sns_notification(TOPIC, event, NOW, random.Random(4))

    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == TOPIC
    assert json.loads(envelope["Message"]) == event
    assert envelope["Timestamp"] == "2026-11-26T12:00:00.000Z"
    assert envelope["UnsubscribeURL"].startswith("https://sns.us-east-1.amazonaws.com/")
