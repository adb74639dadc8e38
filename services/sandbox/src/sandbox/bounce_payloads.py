"""Bounce reports as SendGrid, SES and Mailgun deliver them, for the four ways a demo send fails.

Pure: the caller passes the time and the random source. Each report echoes our message id
(``seevee_message_id``: a SendGrid custom arg, an SES message tag, a Mailgun user variable) as the
sender set it at send time.
"""

import base64
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sandbox.sends import Send

MESSAGE_ID_KEY = "seevee_message_id"
SES_ACCOUNT = "000000000000"
SES_CONFIGURATION_SET = "seevee-sandbox"


class BounceKind(StrEnum):
    MAILBOX_UNKNOWN = "mailbox_unknown"
    DEAD_DOMAIN = "dead_domain"
    MAILBOX_FULL = "mailbox_full"
    SPAM_POLICY = "spam_policy"


@dataclass(frozen=True)
class BounceStory:
    """How one kind of failure reads: the remote server's answer and each provider's own labels."""

    category: str
    """The bounce category the pipeline should give it (ARCHITECTURE 4)."""
    status: str
    reply: str
    """The remote server's SMTP answer; ``{recipient}`` and ``{domain}`` are filled in."""
    sendgrid_type: str
    sendgrid_classification: str
    ses_type: str
    ses_subtype: str
    mailgun_reason: str
    """Mailgun's ``reason`` of a final ``failed`` event (``old``: soft failures until it gave up)."""

    def diagnostic(self, recipient: str) -> str:
        return self.reply.format(recipient=recipient, domain=recipient.rsplit("@", 1)[-1])


STORIES: dict[BounceKind, BounceStory] = {
    BounceKind.MAILBOX_UNKNOWN: BounceStory(
        category="mailbox_unknown",
        status="5.1.1",
        reply="550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual mailbox table",
        sendgrid_type="bounce",
        sendgrid_classification="Invalid Address",
        ses_type="Permanent",
        ses_subtype="General",
        mailgun_reason="bounce",
    ),
    BounceKind.DEAD_DOMAIN: BounceStory(
        category="mailbox_unknown",
        status="5.1.2",
        reply="550 5.1.2 <{recipient}>: Host or domain name not found. "
        "Name service error for name={domain} type=MX: Host not found",
        sendgrid_type="bounce",
        sendgrid_classification="Unclassified",
        ses_type="Permanent",
        ses_subtype="General",
        mailgun_reason="generic",
    ),
    BounceKind.MAILBOX_FULL: BounceStory(
        category="temporary",
        status="4.2.2",
        reply="452 4.2.2 <{recipient}>: Mailbox full: the recipient is over quota, try again later",
        sendgrid_type="bounce",
        sendgrid_classification="Mailbox Unavailable",
        ses_type="Transient",
        ses_subtype="MailboxFull",
        mailgun_reason="old",
    ),
    BounceKind.SPAM_POLICY: BounceStory(
        category="spam_policy",
        status="5.7.1",
        reply="550 5.7.1 Message rejected as spam by the content filtering policy of {domain}",
        sendgrid_type="blocked",
        sendgrid_classification="Content",
        ses_type="Permanent",
        ses_subtype="General",
        mailgun_reason="generic",
    ),
}


def _sendgrid_event_id(rng: random.Random) -> str:
    return base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode()


def _sendgrid_common(send: Send, at: datetime, rng: random.Random) -> dict[str, Any]:
    filter_suffix = f"filterdrecv-7c9d6b5f4-x2k8p-1-{rng.getrandbits(32):08X}-0"
    return {
        "email": send.recipient,
        "timestamp": int(at.timestamp()),
        "smtp-id": send.smtp_message_id,
        "sg_event_id": _sendgrid_event_id(rng),
        "sg_message_id": f"{send.provider_message_id}.{filter_suffix}",
        "category": ["seevee-run"],
        MESSAGE_ID_KEY: send.message_id,
    }


def sendgrid_bounce(send: Send, kind: BounceKind, at: datetime, rng: random.Random) -> dict[str, Any]:
    """One event of a SendGrid Event Webhook batch; custom args arrive as top-level keys."""
    story = STORIES[kind]
    return {
        **_sendgrid_common(send, at, rng),
        "event": "bounce",
        "type": story.sendgrid_type,
        "bounce_classification": story.sendgrid_classification,
        "status": story.status,
        "reason": story.diagnostic(send.recipient),
    }


def sendgrid_delivered(send: Send, at: datetime, rng: random.Random) -> dict[str, Any]:
    """A delivery in the same batch: providers mix them with bounces, and the ingest must skip them."""
    return {
        **_sendgrid_common(send, at, rng),
        "event": "delivered",
        "response": "250 2.0.0 OK: queued",
        "tls": 1,
    }


def ses_bounce(send: Send, kind: BounceKind, at: datetime, rng: random.Random) -> dict[str, Any]:
    """An SES configuration-set ``Bounce`` event: the form that carries the message tags."""
    story = STORIES[kind]
    sender_domain = send.sender_mailbox.rsplit("@", 1)[-1]
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": story.ses_type,
            "bounceSubType": story.ses_subtype,
            "bouncedRecipients": [
                {
                    "emailAddress": send.recipient,
                    "action": "failed",
                    "status": story.status,
                    "diagnosticCode": f"smtp; {story.diagnostic(send.recipient)}",
                }
            ],
            "timestamp": _iso(at),
            "feedbackId": f"0100018{rng.getrandbits(64):016x}-{uuid.UUID(int=rng.getrandbits(128))}-000000",
            "reportingMTA": "dns; a8-30.smtp-out.amazonses.com",
            "remoteMtaIp": f"198.51.100.{rng.randint(2, 250)}",
        },
        "mail": {
            "timestamp": _iso(send.sent_at),
            "source": send.sender_mailbox,
            "sourceArn": f"arn:aws:ses:us-east-1:{SES_ACCOUNT}:identity/{sender_domain}",
            "sendingAccountId": SES_ACCOUNT,
            "messageId": send.provider_message_id,
            "destination": [send.recipient],
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": send.sender_mailbox},
                {"name": "To", "value": send.recipient},
                {"name": "Subject", "value": send.subject},
                {"name": "Message-ID", "value": send.smtp_message_id},
            ],
            "commonHeaders": {
                "from": [send.sender_mailbox],
                "to": [send.recipient],
                "messageId": send.smtp_message_id,
                "subject": send.subject,
            },
            "tags": {
                "ses:configuration-set": [SES_CONFIGURATION_SET],
                MESSAGE_ID_KEY: [send.message_id],
            },
        },
    }


def mailgun_failure(send: Send, kind: BounceKind, at: datetime, rng: random.Random) -> dict[str, Any]:
    """The ``event-data`` of a Mailgun ``failed`` event: final (``permanent``), our id as a user variable."""
    story = STORIES[kind]
    diagnostic = story.diagnostic(send.recipient)
    return {
        "id": base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode().rstrip("="),
        "event": "failed",
        "severity": "permanent",
        "reason": story.mailgun_reason,
        "timestamp": at.timestamp(),
        "recipient": send.recipient,
        "recipient-domain": send.recipient.rsplit("@", 1)[-1],
        "log-level": "error",
        "message": {
            "headers": {
                "message-id": send.provider_message_id,
                "from": send.sender_mailbox,
                "to": send.recipient,
                "subject": send.subject,
            },
            "size": 2048,
        },
        "delivery-status": {
            "code": int(diagnostic[:3]),
            "message": diagnostic,
            "description": "",
            "attempt-no": 1,
            "mx-host": f"mx.{send.recipient.rsplit('@', 1)[-1]}",
        },
        "user-variables": {MESSAGE_ID_KEY: send.message_id},
        "tags": ["seevee-run"],
    }


def sns_notification(
    topic_arn: str, ses_event: dict[str, Any], at: datetime, rng: random.Random
) -> dict[str, Any]:
    """The unsigned SNS envelope SES publishes the event in (raw message delivery off)."""
    region = topic_arn.split(":")[3]
    return {
        "Type": "Notification",
        "MessageId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "TopicArn": topic_arn,
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(ses_event),
        "Timestamp": _iso(at),
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:sandbox",
    }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
