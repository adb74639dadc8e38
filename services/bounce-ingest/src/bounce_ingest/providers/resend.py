"""Resend webhooks, signed by Svix: HMAC-SHA256 over ``svix-id.svix-timestamp.body``, ±5 minutes.

Svix re-signs every attempt with a fresh timestamp but keeps ``svix-id``, so that id is the event id.
Resend bounces mirror SES (``bounce.type``/``subType``); older payloads carry only a sentence, which is
read for "suppressed" and otherwise counts as the hard bounce it announces.
"""

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import BadPayload, ProviderResponses, Unauthorized, WebhookRequest
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    JsonObject,
    as_object,
    enhanced_status,
    iso_time,
    joined_text,
    load_json,
    optional_object,
    reply_code,
    required_text,
    text,
)
from bounce_ingest.providers.provider import Provider
from bounce_ingest.providers.ses_events import bounce_verdict
from bounce_ingest.providers.verdicts import (
    bounce_record,
    complaint_record,
    decided,
    inferred,
    mentions_unsubscribe,
    not_final,
    unsubscribe_record,
)
from bounce_ingest.records import ParsedRequest, ProviderRecord

NAME = "resend"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=400, transient=503)
"""Svix retries non-2xx for about 27 h (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h)."""
TOLERANCE = timedelta(minutes=5)
SECRET_PREFIX = "whsec_"
BOUNCE_EVENTS = frozenset({"email.bounced", "email.suppressed"})
EVENTS = frozenset(
    {
        "email.sent",
        "email.delivered",
        "email.delivery_delayed",
        "email.bounced",
        "email.complained",
        "email.failed",
        "email.suppressed",
        "email.opened",
        "email.clicked",
        "email.scheduled",
        "email.received",
        "contact.created",
        "contact.updated",
        "contact.deleted",
        "domain.created",
        "domain.updated",
        "domain.deleted",
        "suppression.added",
        "suppression.removed",
    }
)
"""``suppression.added`` repeats the bounce or complaint that caused it, so it is only counted."""
_COMPLAINT_WORDS = ("complain", "spam")


@dataclass(frozen=True, slots=True)
class SvixCredentials:
    key: bytes


def svix_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` signing secret."""
    try:
        return base64.b64decode(secret.strip().removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("RESEND_WEBHOOK_SECRET is not a whsec_ secret") from error


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> SvixCredentials | None:
    secret = configured(settings.resend_webhook_secret)
    return None if secret is None else SvixCredentials(svix_key(secret))


def svix_signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


async def verify(request: WebhookRequest, credentials: SvixCredentials | None, now: datetime) -> None:
    if credentials is None:
        raise Unauthorized("Resend webhooks are not configured")
    message_id = request.headers.get("svix-id")
    timestamp = request.headers.get("svix-timestamp")
    signatures = request.headers.get("svix-signature")
    if not message_id or not timestamp or not signatures:
        raise Unauthorized("svix headers missing")
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise Unauthorized("svix-timestamp is not a unix time") from error
    if abs(now - sent_at) > TOLERANCE:
        raise Unauthorized("svix-timestamp is outside the 5 minute window")
    expected = svix_signature(credentials.key, message_id, timestamp, request.body).encode()
    for entry in signatures.split():
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return
    raise Unauthorized("no svix signature matches")


def parse(request: WebhookRequest) -> ParsedRequest:
    event = as_object(load_json(request.body), "body")
    kind = required_text(event, "type")
    if kind not in BOUNCE_EVENTS and kind != "email.complained":
        return ParsedRequest(records=[], ignored={kind: 1})
    data = as_object(event.get("data"), "data")
    if kind == "email.bounced" and not_final(_action(data)):
        return ParsedRequest(records=[], ignored={f"{kind}/{_action(data)}": 1})
    recipients = data.get("to")
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list) or not recipients or not all(isinstance(r, str) for r in recipients):
        raise BadPayload("data.to holds no recipient")
    occurred_at = iso_time(event.get("created_at") or data.get("created_at"), "created_at")
    email_id = text(data, "email_id")
    event_id = request.headers.get("svix-id") or f"{kind}:{email_id}:{event.get('created_at')}"
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_tags(data.get("tags")), echoed_id.from_headers(data.get("headers"))
        ),
        "provider_message_id": email_id,
        "raw_type": kind,
    }
    records: list[ProviderRecord] = []
    for recipient in recipients:
        if kind == "email.complained":
            records.append(complaint_record(NAME, event_id, recipient, occurred_at, **common))
        else:
            records.append(_bounce(kind, data, event_id, recipient, occurred_at, common))
    return ParsedRequest(records=records)


def _action(data: JsonObject) -> str | None:
    return text(optional_object(data, "bounce"), "action")


def _bounce(
    kind: str,
    data: JsonObject,
    event_id: str,
    recipient: str,
    occurred_at: datetime,
    common: dict[str, str | None],
) -> ProviderRecord:
    """``bounce`` mirrors SES (``type``, ``subType``, ``diagnosticCode`` as a string or an array of
    SMTP responses); ``email.suppressed`` carries a ``suppressed`` object of the same shape."""
    bounce = optional_object(data, "bounce") or optional_object(data, "suppressed")
    message = text(bounce, "message")
    evidence = joined_text(bounce, "diagnosticCode")
    diagnostic = evidence or message
    status, code = enhanced_status(evidence), reply_code(evidence)
    bounce_type = text(bounce, "type")
    sub_type = text(bounce, "subType") or ""
    suppression = kind == "email.suppressed" or "suppress" in (message or "").lower()
    if suppression and not evidence:
        lowered = (message or "").lower()
        if mentions_unsubscribe(message):
            return unsubscribe_record(NAME, event_id, recipient, occurred_at, **common)
        if any(word in lowered for word in _COMPLAINT_WORDS):
            return complaint_record(NAME, event_id, recipient, occurred_at, feedback_type="abuse", **common)
        verdict = decided("suppressed", status, code)
    elif bounce_type is not None and bounce_type in {"Permanent", "Transient", "Undetermined"}:
        verdict = bounce_verdict(bounce_type, sub_type, status, code, evidence)
    elif bounce_type is not None:
        verdict = bounce_verdict("Undetermined", bounce_type, status, code, evidence)
    else:
        verdict = inferred(status, code, evidence, fallback="userunknown")
    return bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=diagnostic,
        **common,
    )


PROVIDER = Provider(
    name=NAME,
    verify=verify,
    parse=parse,
    responses=RESPONSES,
    credentials=credentials_from,
    events=EVENTS,
)
