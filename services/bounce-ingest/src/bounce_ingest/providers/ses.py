"""Amazon SES notifications through an SNS HTTPS subscription (raw message delivery off).

Verification: the TopicArn must be allow-listed (a valid SNS signature only proves that *some* topic sent
it), the certificate URL must be on the pinned SNS host of the topic's region, and the RSA signature
(v1 SHA1, v2 SHA256) must cover the canonical string. A SubscriptionConfirmation that passes all of this
is confirmed right here, by GETting its (equally pinned) SubscribeURL: verification is the only step with
a fetcher, and confirming a topic we did not allow-list can never happen.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA1, SHA256, HashAlgorithm

from bounce_ingest.providers import ses_events
from bounce_ingest.providers.base import BadPayload, ProviderResponses, Unauthorized, WebhookRequest
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials
from bounce_ingest.providers.fields import JsonObject, as_object, load_json, required_text, text
from bounce_ingest.providers.provider import Provider
from bounce_ingest.providers.sns_certificates import (
    SnsCertificates,
    SnsFetcher,
    pinned_certificate_url,
    sns_region,
)
from bounce_ingest.records import ParsedRequest

NAME = "ses"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=400, transient=503)
"""SNS drops a message on any 4xx and retries 5xx only about a minute by default (see the notes)."""

SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
OPTIONAL_KEYS = frozenset({"Subject"})
"""Every other signed key must be present: with one missing, a neighbour's value could stand in for it."""
MULTILINE_KEYS = frozenset({"Message"})
"""SNS messages may span lines (a SubscriptionConfirmation's does); the key after it is required."""
HASHES: dict[str, type[HashAlgorithm]] = {"1": SHA1, "2": SHA256}
MAX_AGE = timedelta(hours=1)
"""A notification older than this is a replay, not a delivery (SNS retries keep the original Timestamp)."""
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SesCredentials:
    topic_arns: frozenset[str]
    certificates: SnsCertificates
    fetcher: SnsFetcher
    max_age: timedelta = MAX_AGE


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> SesCredentials | None:
    topics = frozenset(settings.ses_sns_topic_arns.replace(",", " ").split())
    if not topics:
        return None
    max_age = timedelta(seconds=settings.ses_sns_max_age_seconds)
    return SesCredentials(topics, runtime.sns_certificates, runtime.sns_fetcher, max_age)


def canonical_string(message: JsonObject) -> bytes:
    """``Key\\nValue\\n`` for the signed keys of the message type, in order, skipping absent ones.

    That encoding is ambiguous: ``MessageId`` = ``id\\nTimestamp\\nT`` without a ``Timestamp`` signs
    the same bytes as the two keys apart, and would make one captured notification a second event.
    So a value (other than the message itself) may not hold a line break, and only ``Subject`` may be
    absent.
    """
    keys = SIGNED_KEYS.get(str(message.get("Type")))
    if keys is None:
        raise Unauthorized("unknown SNS message type")
    parts: list[str] = []
    for key in keys:
        value = message.get(key)
        if value is None:
            if key not in OPTIONAL_KEYS:
                raise Unauthorized(f"the signed key {key} is missing")
            continue
        if not isinstance(value, str):
            raise Unauthorized(f"{key} is not a string")
        if key not in MULTILINE_KEYS and ("\n" in value or "\r" in value):
            raise Unauthorized(f"{key} holds a line break")
        parts.append(f"{key}\n{value}\n")
    return "".join(parts).encode()


def check_fresh(message: JsonObject, now: datetime, max_age: timedelta = MAX_AGE) -> None:
    """The signed Timestamp must be within ``max_age`` before now (and not ahead by more than the skew)."""
    stamp = message.get("Timestamp")
    try:
        at = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError as error:
        raise Unauthorized("Timestamp is not an ISO 8601 time") from error
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    if at < now - max_age:
        raise Unauthorized("the notification is older than the accepted age")
    if at > now + CLOCK_SKEW:
        raise Unauthorized("the notification is dated in the future")


def topic_region(topic_arn: str) -> str:
    """``arn:aws:sns:<region>:<account>:<name>`` (also the aws-cn and aws-us-gov partitions)."""
    parts = topic_arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[3]:
        raise Unauthorized("TopicArn is not an SNS topic")
    return parts[3]


def _envelope(request: WebhookRequest) -> JsonObject:
    try:
        return as_object(load_json(request.body), "body")
    except BadPayload as error:
        raise Unauthorized("not an SNS message") from error


async def verify(request: WebhookRequest, credentials: SesCredentials | None, now: datetime) -> None:
    if credentials is None:
        raise Unauthorized("SES webhooks are not configured (SES_SNS_TOPIC_ARNS)")
    message = _envelope(request)
    message_type = message.get("Type")
    header_type = request.headers.get("x-amz-sns-message-type")
    if header_type is not None and header_type != message_type:
        raise Unauthorized("x-amz-sns-message-type does not match the message")
    hash_type = HASHES.get(str(message.get("SignatureVersion")))
    if hash_type is None:
        raise Unauthorized("unsupported SNS SignatureVersion")
    cert_url = message.get("SigningCertURL") or message.get("SigningCertUrl")
    topic_arn = message.get("TopicArn")
    if not isinstance(cert_url, str) or not isinstance(topic_arn, str):
        raise Unauthorized("SigningCertURL or TopicArn missing")
    pinned_certificate_url(cert_url)
    if topic_arn not in credentials.topic_arns:
        raise Unauthorized("TopicArn is not allow-listed")
    if sns_region(cert_url) != topic_region(topic_arn):
        raise Unauthorized("SigningCertURL is not on the SNS host of the topic's region")
    signed = canonical_string(message)
    check_fresh(message, now, credentials.max_age)
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
    except (binascii.Error, ValueError) as error:
        raise Unauthorized("Signature is not base64") from error
    key = await credentials.certificates.public_key(cert_url)
    try:
        key.verify(signature, signed, PKCS1v15(), hash_type())
    except InvalidSignature as error:
        raise Unauthorized("SNS signature does not match") from error
    if message_type == "SubscriptionConfirmation":
        await credentials.fetcher.get(confirmation_url(message, topic_arn))


def confirmation_url(message: JsonObject, topic_arn: str) -> str:
    """The SubscribeURL, only if it is a ConfirmSubscription call on the topic's own SNS host."""
    url = message.get("SubscribeURL")
    if not isinstance(url, str) or sns_region(url) != topic_region(topic_arn):
        raise Unauthorized("SubscribeURL is not on the SNS host of the topic's region")
    parts = urlsplit(url)
    if parts.path not in {"", "/"} or parse_qs(parts.query).get("Action") != ["ConfirmSubscription"]:
        raise Unauthorized("SubscribeURL is not a ConfirmSubscription call")
    return url


def parse(request: WebhookRequest) -> ParsedRequest:
    message = as_object(load_json(request.body), "body")
    message_type = required_text(message, "Type")
    if message_type != "Notification":
        if message_type not in SIGNED_KEYS:
            raise BadPayload("unknown SNS message type")
        return ParsedRequest(records=[], ignored={message_type: 1})
    inner = load_json(required_text(message, "Message").encode())
    notification = as_object(inner, "Message")
    sns_message_id = required_text(message, "MessageId")
    return ses_events.parse_notification(notification, sns_message_id, text(message, "Timestamp"))


PROVIDER = Provider(
    name=NAME,
    verify=verify,
    parse=parse,
    responses=RESPONSES,
    credentials=credentials_from,
    events=ses_events.EVENTS | frozenset(SIGNED_KEYS),
)
