"""Plays the ESPs: signed SendGrid batches, SES-via-SNS notifications and Mailgun events for the bounces."""

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.bounce_payloads import (
    BounceKind,
    mailgun_failure,
    sendgrid_bounce,
    sendgrid_delivered,
    ses_bounce,
    sns_notification,
)
from sandbox.credentials import DevCredentials
from sandbox.pipeline import Pipeline
from sandbox.sends import Send
from sandbox.signing import SignedRequest, sign_mailgun, sign_sendgrid, sign_sns


@dataclass(frozen=True)
class PlannedBounce:
    send: Send
    kind: BounceKind


@dataclass(frozen=True)
class Delivery:
    """One webhook POST and the ingest's answer (accepted, duplicates, ignored)."""

    provider: str
    recipients: list[str]
    answer: dict[str, Any]


def sendgrid_request(
    credentials: DevCredentials,
    bounces: list[PlannedBounce],
    delivered: list[Send],
    at: datetime,
    rng: random.Random,
) -> SignedRequest:
    """One batch, as SendGrid posts them: the bounces mixed with deliveries of other sends."""
    events = [sendgrid_bounce(b.send, b.kind, at, rng) for b in bounces]
    events += [sendgrid_delivered(send, at, rng) for send in delivered]
    rng.shuffle(events)
    return sign_sendgrid(credentials.sendgrid_key, events, int(at.timestamp()))


def ses_request(
    credentials: DevCredentials, bounce: PlannedBounce, at: datetime, rng: random.Random
) -> SignedRequest:
    """SES publishes one SNS notification per bounce event."""
    message = sns_notification(credentials.topic_arn, ses_bounce(bounce.send, bounce.kind, at, rng), at, rng)
    return sign_sns(credentials.sns_key, credentials.sns_cert_url, message)


def mailgun_request(
    credentials: DevCredentials, bounce: PlannedBounce, at: datetime, rng: random.Random
) -> SignedRequest:
    """Mailgun posts one event per request, signed with the account's webhook signing key."""
    key = credentials.shared_secrets["MAILGUN_WEBHOOK_SIGNING_KEY"]
    event = mailgun_failure(bounce.send, bounce.kind, at, rng)
    return sign_mailgun(key, event, int(at.timestamp()), token=f"{rng.getrandbits(200):050x}")


SINGLE_EVENT_REQUESTS = {"ses": ses_request, "mailgun": mailgun_request}
"""Providers that post one bounce per request (SendGrid batches them)."""


async def post_bounces(
    pipeline: Pipeline,
    credentials: DevCredentials,
    bounces: list[PlannedBounce],
    delivered: list[Send],
    at: datetime,
    rng: random.Random,
) -> list[Delivery]:
    """Each bounce through the provider its send went out with; SendGrid's deliveries ride along."""
    sendgrid = [b for b in bounces if b.send.provider == "sendgrid"]
    sendgrid_delivered_sends = [send for send in delivered if send.provider == "sendgrid"]
    deliveries: list[Delivery] = []
    if sendgrid or sendgrid_delivered_sends:
        request = sendgrid_request(credentials, sendgrid, sendgrid_delivered_sends, at, rng)
        answer = await pipeline.post_webhook("sendgrid", request)
        deliveries.append(Delivery("sendgrid", [b.send.recipient for b in sendgrid], answer))
    for bounce in bounces:
        build = SINGLE_EVENT_REQUESTS.get(bounce.send.provider)
        if build is not None:
            answer = await pipeline.post_webhook(bounce.send.provider, build(credentials, bounce, at, rng))
            deliveries.append(Delivery(bounce.send.provider, [bounce.send.recipient], answer))
    return deliveries
