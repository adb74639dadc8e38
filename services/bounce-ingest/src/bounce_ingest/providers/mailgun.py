"""Mailgun webhooks (v3 JSON): HMAC-SHA256 over timestamp + token, one event per POST.

The signature does not cover ``event-data``, so a token may never come back with another body (see
``replay``), and a signature older than the token memory is refused.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from bounce_ingest.classification import Verdict
from bounce_ingest.providers import echoed_id, mailgun_legacy
from bounce_ingest.providers.base import BadPayload, ProviderResponses, Unauthorized, WebhookRequest
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    JsonObject,
    as_object,
    enhanced_status,
    epoch,
    load_json,
    optional_object,
    reply_code,
    required_text,
    smtp_code,
    text,
)
from bounce_ingest.providers.provider import Provider
from bounce_ingest.providers.replay import ReplayGuard
from bounce_ingest.providers.verdicts import (
    bounce_record,
    complaint_record,
    decided,
    inferred,
    refined,
    unsubscribe_record,
)
from bounce_ingest.records import ParsedRequest, ProviderRecord

NAME = "mailgun"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=406, transient=503)
"""Mailgun retries everything but 200 and 406 for about 8 h; 406 tells it to give up."""
TOKEN_MEMORY = timedelta(hours=12)
"""Longer than Mailgun's 8 h of retries, in case a retry keeps its first signature."""
FUTURE_SKEW = timedelta(minutes=5)

EVENTS = frozenset(
    {
        "accepted",
        "rejected",
        "delivered",
        "failed",
        "opened",
        "clicked",
        "unsubscribed",
        "complained",
        "stored",
        "list_member_uploaded",
        "list_member_upload_error",
        "list_uploaded",
    }
)
DECIDED_REASONS: dict[str, str] = {
    "suppress-bounce": "suppressed",
    "espblock": "blocked",
    "blacklisted": "blocked",
    "old": "expired",
}
"""Permanent-failure ``reason`` values that decide the category (``old``: retries ran out)."""
COARSE_REASONS: dict[str, str | None] = {
    "bounce": "userunknown",
    "hardfail": "userunknown",
    "generic": None,
    "greylisted": "undefined",
}
"""Reasons that only say "it bounced": the delivery status (e.g. 5.7.1 → blocked) refines them."""
COMPLAINT_REASONS = frozenset({"suppress-complaint"})
UNSUBSCRIBE_REASONS = frozenset({"suppress-unsubscribe"})
SUPPRESSION_CODES: dict[int, str] = {
    605: "suppress-bounce",
    606: "suppress-unsubscribe",
    607: "suppress-complaint",
}
"""Mailgun's own ``delivery-status.code`` for a send it refused because of a suppression."""


@dataclass(frozen=True, slots=True)
class MailgunCredentials:
    signing_key: bytes
    replay_guard: ReplayGuard


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> MailgunCredentials | None:
    key = configured(settings.mailgun_webhook_signing_key)
    return None if key is None else MailgunCredentials(key.encode(), runtime.replay_guard)


def signature_for(signing_key: bytes, timestamp: str, token: str) -> str:
    return hmac.new(signing_key, (timestamp + token).encode(), hashlib.sha256).hexdigest()


async def verify(request: WebhookRequest, credentials: MailgunCredentials | None, now: datetime) -> None:
    if credentials is None:
        raise Unauthorized("Mailgun webhooks are not configured")
    try:
        if mailgun_legacy.is_form(request):
            signature: JsonObject = mailgun_legacy.fields(request)
            signed_event = request.body.decode("utf-8")
        else:
            document = as_object(load_json(request.body), "body")
            signature = as_object(document.get("signature"), "signature")
            signed_event = json.dumps(document.get("event-data"), sort_keys=True, separators=(",", ":"))
        timestamp = required_text(signature, "timestamp")
        token = required_text(signature, "token")
        presented = required_text(signature, "signature")
        signed_at = epoch(timestamp, "signature.timestamp")
    except BadPayload as error:
        raise Unauthorized(f"no usable signature: {error.detail}") from error
    if not hmac.compare_digest(presented.lower(), signature_for(credentials.signing_key, timestamp, token)):
        raise Unauthorized("signature does not match")
    if not now - TOKEN_MEMORY <= signed_at <= now + FUTURE_SKEW:
        raise Unauthorized("signature timestamp is outside the accepted window")
    fingerprint = hashlib.sha256(signed_event.encode()).hexdigest()
    if not await credentials.replay_guard.admit(token, fingerprint, signed_at + TOKEN_MEMORY, now):
        raise Unauthorized("signature token was already used for another event")


def parse(request: WebhookRequest) -> ParsedRequest:
    if mailgun_legacy.is_form(request):
        return mailgun_legacy.parse(request)
    document = as_object(load_json(request.body), "body")
    event = as_object(document.get("event-data"), "event-data")
    kind = required_text(event, "event")
    severity = text(event, "severity") or ""
    if kind == "failed" and severity == "temporary":
        return ParsedRequest(records=[], ignored={"failed/temporary": 1})
    if kind not in {"failed", "complained"}:
        return ParsedRequest(records=[], ignored={kind: 1})
    return ParsedRequest(records=[_record(kind, event, document)])


def _record(kind: str, event: JsonObject, document: JsonObject) -> ProviderRecord:
    recipient = required_text(event, "recipient")
    occurred_at = epoch(event.get("timestamp"), "timestamp")
    signature = optional_object(document, "signature")
    event_id = text(event, "id") or required_text(signature, "token")
    headers = optional_object(optional_object(event, "message"), "headers")
    message_id = text(headers, "message-id")
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(event.get("user-variables")),
            echoed_id.from_tags(event.get("tags")),
            echoed_id.from_headers(headers),
        ),
        "provider_message_id": message_id,
        "smtp_message_id": message_id,
    }
    status_block = optional_object(event, "delivery-status")
    raw_code = status_block.get("code")
    reason = text(event, "reason") or SUPPRESSION_CODES.get(_number(raw_code), "")
    if kind == "complained" or reason in COMPLAINT_REASONS:
        raw_type = kind if kind == "complained" else f"failed/{reason}"
        return complaint_record(NAME, event_id, recipient, occurred_at, raw_type=raw_type, **common)
    if reason in UNSUBSCRIBE_REASONS:
        return unsubscribe_record(
            NAME, event_id, recipient, occurred_at, raw_type=f"failed/{reason}", **common
        )
    diagnostic = text(status_block, "message") or text(status_block, "description")
    code = smtp_code(raw_code)
    status = (
        enhanced_status(text(status_block, "enhanced-code"))
        or enhanced_status(text(status_block, "bounce-code"))
        or enhanced_status(diagnostic)
    )
    code = code if code is not None else reply_code(diagnostic)
    precise = DECIDED_REASONS.get(reason)
    verdict = (
        _precise_verdict(reason, precise, status, code, diagnostic)
        if precise is not None
        else inferred(status, code, diagnostic, fallback=COARSE_REASONS.get(reason))
    )
    return bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=diagnostic,
        remote_mta=text(status_block, "mx-host"),
        raw_type=f"failed/{text(event, 'severity')}/{reason}",
        **common,
    )


def _precise_verdict(
    reason: str, precise: str, status: str | None, code: int | None, diagnostic: str | None
) -> Verdict:
    """A suppression is what Mailgun says it is; other precise reasons are refined by the status."""
    if reason.startswith("suppress"):
        return decided(precise, status, code)
    return refined(precise, status, code, diagnostic)


def _number(value: object) -> int:
    try:
        return int(str(value).strip()) if value is not None and not isinstance(value, bool) else 0
    except ValueError:
        return 0


PROVIDER = Provider(
    name=NAME,
    verify=verify,
    parse=parse,
    responses=RESPONSES,
    credentials=credentials_from,
    events=EVENTS | mailgun_legacy.EVENTS,
)
