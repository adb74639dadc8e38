"""The bench's contacts: each has a run, a thread, a reveal and a sent message that can bounce.

Every contact is distinct (its own recipient and employer slot), so one bounce gives exactly one
paused run, one task, one labelled message and one refund record: the four effects a figure waits for.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed, MessageBounced, MessageSent, bounce_id_for

WORKSPACE = "ws-bench"
SENDER = "/seevee/sender"
REVEALS = "/seevee/reveals"
INGEST = "/seevee/bounce-ingest"
EMPLOYERS = 200
"""Bounces spread over this many employer domains, so spike checks see realistic counts."""


@dataclass(frozen=True)
class Contact:
    tag: str
    index: int

    @property
    def contact_id(self) -> str:
        return f"c-{self.tag}-{self.index}"

    @property
    def message_id(self) -> str:
        return f"m-{self.tag}-{self.index}"

    @property
    def thread_id(self) -> str:
        return f"t-{self.tag}-{self.index}"

    @property
    def reveal_id(self) -> str:
        return f"r-{self.tag}-{self.index}"

    @property
    def provider_message_id(self) -> str:
        return f"pm-{self.tag}-{self.index}"

    @property
    def employer_domain(self) -> str:
        return f"employer{self.index % EMPLOYERS}.test"

    @property
    def recipient(self) -> str:
        return f"jane.doe{self.index}.{self.tag}@{self.employer_domain}"


def contacts(tag: str, count: int, start: int = 0) -> list[Contact]:
    return [Contact(tag, index) for index in range(start, start + count)]


def message_sent(contact: Contact, run_id: str | None, at: datetime) -> CloudEvent:
    data = MessageSent(
        message_id=contact.message_id,
        thread_id=contact.thread_id,
        contact_id=contact.contact_id,
        run_id=run_id,
        run_step=1 if run_id else None,
        recipient=contact.recipient,
        sender_mailbox="sam@seevee.test",
        provider="sendgrid",
        provider_message_id=contact.provider_message_id,
        smtp_message_id=f"<{contact.message_id}@mail.seevee.test>",
        subject="Quick question",
        sent_at=at,
    )
    return CloudEvent.build(data, source=SENDER, workspace_id=WORKSPACE, subject=contact.contact_id)


def contact_revealed(contact: Contact, at: datetime) -> CloudEvent:
    data = ContactRevealed(
        reveal_id=contact.reveal_id,
        contact_id=contact.contact_id,
        email=contact.recipient,
        first_name="Jane",
        last_name="Doe",
        employer_domain=contact.employer_domain,
        credits=1,
        recommended=True,
        revealed_at=at,
    )
    return CloudEvent.build(data, source=REVEALS, workspace_id=WORKSPACE, subject=contact.contact_id)


def message_bounced(contact: Contact, run_id: str | None, at: datetime) -> CloudEvent:
    """The event bounce-ingest would publish for a SendGrid hard bounce of the contact's message."""
    event_id = f"sg-{contact.tag}-{contact.index}"
    bounce_id = bounce_id_for("sendgrid", event_id, contact.recipient)
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=contact.message_id,
        thread_id=contact.thread_id,
        contact_id=contact.contact_id,
        run_id=run_id,
        run_step=1 if run_id else None,
        recipient=contact.recipient,
        category="mailbox_unknown",
        reason="userunknown",
        permanent=True,
        smtp_code=550,
        smtp_status="5.1.1",
        diagnostic="550 5.1.1 The email account that you tried to reach does not exist",
        provider="sendgrid",
        provider_event_id=event_id,
        matched_by="message_id",
        bounced_at=at,
    )
    return CloudEvent.build(
        data, source=INGEST, workspace_id=WORKSPACE, subject=contact.contact_id, event_id=bounce_id
    )


def sendgrid_bounce(contact: Contact, event_id: str, at: datetime) -> dict[str, Any]:
    """A SendGrid hard bounce that echoes our message id, as the provider posts it."""
    return {
        "email": contact.recipient,
        "timestamp": int(at.timestamp()),
        "event": "bounce",
        "type": "bounce",
        "bounce_classification": "Invalid Address",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist",
        "sg_event_id": event_id,
        "sg_message_id": f"{contact.provider_message_id}.filter0001.1.2.0",
        "seevee_message_id": contact.message_id,
    }


def ses_bounce(contact: Contact, feedback_id: str, at: datetime) -> dict[str, Any]:
    """An SES bounce notification (the SNS ``Message``), matched by the provider message id."""
    stamp = at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": contact.recipient,
                    "status": "5.1.1",
                    "action": "failed",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": stamp,
            "feedbackId": feedback_id,
        },
        "mail": {"messageId": contact.provider_message_id, "destination": [contact.recipient]},
    }


def unique_tag() -> str:
    return uuid.uuid4().hex[:6]


def earlier(minutes: int) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)
