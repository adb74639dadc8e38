"""What the sender sends for a due step: the ``message.sent`` a real send through an ESP would produce.

Pure: ids come from the caller's random source, so a send can be rebuilt in tests.
"""

import base64
import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import MessageSent, RunStepDue

SENDER_SOURCE = "/seevee/sender"
Provider = Literal["sendgrid", "ses", "mailgun"]
PROVIDERS: tuple[Provider, ...] = ("sendgrid", "ses", "mailgun")
SUBJECTS = {1: "Quick introduction", 2: "Following up", 3: "One last note"}


@dataclass(frozen=True)
class Send:
    """One sent email, with every id a provider's bounce can echo back."""

    workspace_id: str
    message_id: str
    thread_id: str
    contact_id: str
    run_id: str
    run_step: int
    recipient: str
    sender_mailbox: str
    provider: Provider
    provider_message_id: str
    smtp_message_id: str
    subject: str
    sent_at: datetime


def provider_for(run_id: str) -> Provider:
    """A third of the runs go out through each provider, and a run keeps its provider."""
    return PROVIDERS[hashlib.sha256(run_id.encode()).digest()[0] % len(PROVIDERS)]


def provider_message_id(provider: Provider, rng: random.Random) -> str:
    """The id the provider answers a send with: SendGrid's ``X-Message-Id``, SES's ``MessageId``,
    Mailgun's ``id`` (the Message-ID it gives the email, without angle brackets)."""
    raw = rng.getrandbits(128).to_bytes(16, "big")
    if provider == "sendgrid":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    if provider == "mailgun":
        return f"{raw[:8].hex()}.{raw[8:].hex()}@mg.seevee-demo.example"
    hex_id = raw.hex()
    return f"0100018{hex_id[:9]}-{hex_id[9:17]}-{hex_id[17:21]}-{hex_id[21:25]}-{hex_id[25:29]}-000000"


def send_for(step_due: CloudEvent, now: datetime, rng: random.Random) -> Send:
    """The send of a ``run.step_due``: a fresh message id, the run's thread, an RFC 5322 Message-ID."""
    step = step_due.data_as(RunStepDue)
    provider = provider_for(step.run_id)
    message_uuid = uuid.UUID(int=rng.getrandbits(128), version=4)
    sender_domain = step.sender_mailbox.rsplit("@", 1)[-1]
    return Send(
        workspace_id=step_due.workspaceid,
        message_id=str(message_uuid),
        thread_id=step.thread_id,
        contact_id=step.contact_id,
        run_id=step.run_id,
        run_step=step.step,
        recipient=step.recipient,
        sender_mailbox=step.sender_mailbox,
        provider=provider,
        provider_message_id=provider_message_id(provider, rng),
        smtp_message_id=f"<{message_uuid.hex}.{step.step}@{sender_domain}>",
        subject=SUBJECTS.get(step.step, f"Step {step.step}"),
        sent_at=now,
    )


def message_sent_event(send: Send) -> CloudEvent:
    data = MessageSent(
        message_id=send.message_id,
        thread_id=send.thread_id,
        contact_id=send.contact_id,
        run_id=send.run_id,
        run_step=send.run_step,
        recipient=send.recipient,
        sender_mailbox=send.sender_mailbox,
        provider=send.provider,
        provider_message_id=send.provider_message_id,
        smtp_message_id=send.smtp_message_id,
        subject=send.subject,
        sent_at=send.sent_at,
    )
    return CloudEvent.build(
        data, source=SENDER_SOURCE, workspace_id=send.workspace_id, subject=send.contact_id, time=send.sent_at
    )
