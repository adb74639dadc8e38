"""SendGrid Event Webhook: ECDSA P-256 over the timestamp header + raw body; a JSON array of events.

No freshness window: SendGrid documents none and may not re-sign retries, and a replayed body can only
repeat events whose ``sg_event_id`` dedupe already absorbs.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_der_public_key

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import BadPayload, ProviderResponses, Unauthorized, WebhookRequest
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    JsonObject,
    enhanced_status,
    epoch,
    gather,
    load_json,
    reply_code,
    required_text,
    text,
)
from bounce_ingest.providers.provider import Provider
from bounce_ingest.providers.verdicts import (
    bounce_record,
    complaint_record,
    decided,
    inferred,
    mentions_unsubscribe,
    refined,
    unsubscribe_record,
)
from bounce_ingest.records import ParsedRequest, ProviderRecord

NAME = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=400, transient=503)
"""SendGrid retries any non-2xx for 24 h, so only a payload it can never fix gets a 4xx."""

EVENTS = frozenset(
    {
        "processed",
        "dropped",
        "delivered",
        "deferred",
        "bounce",
        "blocked",
        "open",
        "click",
        "spamreport",
        "unsubscribe",
        "group_unsubscribe",
        "group_resubscribe",
        "account_status_change",
    }
)
"""The Event Webhook's delivery, engagement and account events (``blocked``: older shape of a block)."""
BOUNCE_CLASSIFICATION: dict[str, str] = {
    "Invalid Address": "userunknown",
    "Technical Failure": "systemerror",
    "Frequency or Volume Too High": "ratelimited",
    "Reputation": "badreputation",
    "Content": "contenterror",
}
"""``bounce_classification`` that decides the category; status and text of that category refine it."""
COARSE_CLASSIFICATION: dict[str, str] = {"Mailbox Unavailable": "mailboxfull"}
"""Full or disabled: the status (5.2.1 vs 5.2.2) and text decide, full when they are silent."""
COARSE_TYPES: dict[str, str] = {"bounce": "userunknown", "blocked": "blocked", "expired": "expired"}
"""Without a classification (or ``Unclassified``), status and text decide, then the bounce ``type``."""

DROPPED_REASON: dict[str, str] = {
    "bounced address": "suppressed",
    "invalid": "userunknown",
    "spam content": "spamdetected",
    "invalid smtpapi header": "mailererror",
    "recipient list over package quota": "onhold",
}
"""``dropped`` reasons: SendGrid refused to send. A past spam report or unsubscribe is no bounce."""
COMPLAINT_DROP = "spam reporting address"


@dataclass(frozen=True, slots=True)
class SendGridCredentials:
    public_keys: tuple[ec.EllipticCurvePublicKey, ...]


def load_public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it: base64 of the DER SubjectPublicKeyInfo."""
    key = load_der_public_key(base64.b64decode(encoded.strip(), validate=True))
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("SENDGRID_WEBHOOK_PUBLIC_KEY is not a P-256 public key")
    return key


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> SendGridCredentials | None:
    value = configured(settings.sendgrid_webhook_public_key)
    if value is None:
        return None
    return SendGridCredentials(tuple(load_public_key(part) for part in value.split(",") if part.strip()))


async def verify(request: WebhookRequest, credentials: SendGridCredentials | None, now: datetime) -> None:
    if credentials is None or not credentials.public_keys:
        raise Unauthorized("SendGrid webhooks are not configured")
    signature_b64 = request.headers.get(SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    if not signature_b64 or not timestamp:
        raise Unauthorized("signature or timestamp header missing")
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise Unauthorized("signature is not base64") from error
    signed = timestamp.encode() + request.body
    for key in credentials.public_keys:
        try:
            key.verify(signature, signed, ec.ECDSA(SHA256()))
        except InvalidSignature:
            continue
        return
    raise Unauthorized("signature does not match")


def parse(request: WebhookRequest) -> ParsedRequest:
    """A JSON array of events; one object alone is the older unbatched webhook, read the same way."""
    document = load_json(request.body)
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise BadPayload("SendGrid posts a JSON array of events")
    return gather(document, _record)


def _record(kind: str, event: JsonObject) -> ProviderRecord | None:
    if kind not in {"bounce", "blocked", "dropped", "spamreport"}:
        return None
    recipient = required_text(event, "email")
    occurred_at = epoch(event.get("timestamp"), "timestamp")
    sg_message_id = text(event, "sg_message_id")
    event_id = text(event, "sg_event_id") or f"{kind}:{sg_message_id}:{event.get('timestamp')}:{recipient}"
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(event),
            echoed_id.from_mapping(event.get("custom_args")),
            echoed_id.from_mapping(event.get("unique_args")),
        ),
        "provider_message_id": sg_message_id,
        "smtp_message_id": text(event, "smtp-id"),
    }
    reason_text = text(event, "reason")
    dropped_reason = (reason_text or "").lower() if kind == "dropped" else ""
    if kind == "spamreport" or dropped_reason == COMPLAINT_DROP:
        return complaint_record(
            NAME, event_id, recipient, occurred_at, feedback_type="abuse", raw_type=kind, **common
        )
    if kind == "dropped" and mentions_unsubscribe(reason_text):
        return unsubscribe_record(
            NAME, event_id, recipient, occurred_at, raw_type=f"dropped/{reason_text}", **common
        )
    status = enhanced_status(text(event, "status")) or enhanced_status(reason_text)
    code = reply_code(reason_text)
    if kind == "dropped":
        dropped = DROPPED_REASON.get(dropped_reason)
        verdict = decided(dropped, status, code) if dropped else inferred(status, code, reason_text)
        raw_type = f"dropped/{reason_text}"
    else:
        bounce_type = (text(event, "type") or kind).lower()
        classification = text(event, "bounce_classification")
        mapped = BOUNCE_CLASSIFICATION.get(classification or "")
        if mapped is not None:
            verdict = refined(mapped, status, code, reason_text)
        else:
            coarse = COARSE_CLASSIFICATION.get(classification or "") or COARSE_TYPES.get(bounce_type)
            verdict = inferred(status, code, reason_text, fallback=coarse)
        raw_type = f"{bounce_type}/{classification}" if classification else bounce_type
    return bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=reason_text,
        raw_type=raw_type,
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
