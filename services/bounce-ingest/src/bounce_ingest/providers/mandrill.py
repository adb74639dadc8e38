"""Mandrill (Mailchimp Transactional): base64 HMAC-SHA1 over the configured URL + sorted POST fields.

The body is form-encoded with one field, ``mandrill_events``, a JSON array of up to 1000 events. The URL
must be byte-for-byte what was configured at Mandrill (scheme, host, port, path, query), so behind a
proxy ``MANDRILL_WEBHOOK_URL`` is required. Mandrill gives no event id: ``_id:event:ts`` is used. The
``HEAD`` Mandrill sends when a webhook is created carries no signature and is answered by the endpoint.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import BadPayload, ProviderResponses, Unauthorized, WebhookRequest
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    JsonObject,
    as_object,
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

NAME = "mandrill"
SIGNATURE_HEADER = "X-Mandrill-Signature"
EVENTS_FIELD = "mandrill_events"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=400, transient=503)
"""Mandrill retries failed batches on its own schedule (undocumented); any non-2xx counts as failed."""

EVENTS = frozenset(
    {
        "send",
        "deferral",
        "hard_bounce",
        "soft_bounce",
        "open",
        "click",
        "spam",
        "unsub",
        "reject",
        "inbound",
        "sync",
    }
)
"""Message events, ``inbound`` mail, and ``sync`` (allow and deny list changes, which carry ``type``)."""
BOUNCE_DESCRIPTIONS: dict[str, str] = {
    "bad_mailbox": "userunknown",
    "invalid_domain": "hostunknown",
    "mailbox_full": "mailboxfull",
    "invalid_content": "contenterror",
    "virus_related": "virusdetected",
}
"""``msg.bounce_description`` values that decide the category; ``msg.diag`` of that category refines."""
COARSE_DESCRIPTIONS: dict[str, str] = {"spam_related": "blocked"}
"""Descriptions that only say "policy": the diagnostic names which one. ``general``, ``unknown`` and
the rest leave it to ``msg.diag`` and the event."""
COARSE_EVENTS: dict[str, str] = {"hard_bounce": "userunknown", "soft_bounce": "undefined"}
DROP_EVENTS = frozenset({"reject"})
"""``reject``: Mandrill refused to send to an address on its deny list (earlier bounce, spam report,
unsubscribe); the deny-list reason (``hard-bounce``, ``spam``, ``unsub``, ...) says which."""
COMPLAINT_REJECTS = frozenset({"spam"})


@dataclass(frozen=True, slots=True)
class MandrillCredentials:
    key: bytes
    url: str | None


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> MandrillCredentials | None:
    key = configured(settings.mandrill_webhook_key)
    if key is None:
        return None
    return MandrillCredentials(key.encode(), (settings.mandrill_webhook_url or "").strip() or None)


def form_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError) as error:
        raise BadPayload("the body is not form-encoded") from error


def mandrill_signature(key: bytes, url: str, fields: list[tuple[str, str]]) -> str:
    signed = url + "".join(name + value for name, value in sorted(fields, key=lambda field: field[0]))
    return base64.b64encode(hmac.new(key, signed.encode(), hashlib.sha1).digest()).decode()


async def verify(request: WebhookRequest, credentials: MandrillCredentials | None, now: datetime) -> None:
    if credentials is None:
        raise Unauthorized("Mandrill webhooks are not configured")
    presented = request.headers.get(SIGNATURE_HEADER)
    if not presented:
        raise Unauthorized("X-Mandrill-Signature missing")
    try:
        fields = form_fields(request.body)
    except BadPayload as error:
        raise Unauthorized("the body cannot be signed: not form-encoded") from error
    expected = mandrill_signature(credentials.key, credentials.url or request.url, fields)
    if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise Unauthorized("signature does not match")


def parse(request: WebhookRequest) -> ParsedRequest:
    fields = dict(form_fields(request.body))
    if EVENTS_FIELD not in fields:
        raise BadPayload("mandrill_events is missing")
    document = load_json(fields[EVENTS_FIELD].encode())
    if not isinstance(document, list):
        raise BadPayload("mandrill_events is not a JSON array")
    return gather(document, _record, _kind)


def _kind(event: JsonObject) -> str:
    """Sync events (allow and deny list changes) carry ``type`` instead of ``event``."""
    return text(event, "event") or f"sync/{text(event, 'type')}"


def _record(kind: str, event: JsonObject) -> ProviderRecord | None:
    if kind not in COARSE_EVENTS and kind not in DROP_EVENTS and kind != "spam":
        return None
    msg = as_object(event.get("msg"), "msg")
    recipient = required_text(msg, "email")
    stamp = required_text(event, "ts")
    occurred_at = epoch(stamp, "ts")
    message_id = text(event, "_id") or text(msg, "_id")
    event_id = f"{message_id}:{kind}:{stamp}"
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(msg.get("metadata")), echoed_id.from_tags(msg.get("tags"))
        ),
        "provider_message_id": message_id,
        "raw_type": kind,
    }
    reject_reason = (text(msg, "reject_reason") or text(event, "reject_reason") or "").lower()
    if kind == "spam" or (kind in DROP_EVENTS and reject_reason in COMPLAINT_REJECTS):
        return complaint_record(NAME, event_id, recipient, occurred_at, feedback_type="abuse", **common)
    if kind in DROP_EVENTS and (reject_reason == "unsub" or mentions_unsubscribe(reject_reason)):
        return unsubscribe_record(NAME, event_id, recipient, occurred_at, **common)
    diagnostic = text(msg, "diag")
    status, code = enhanced_status(diagnostic), reply_code(diagnostic)
    description = text(msg, "bounce_description")
    precise = BOUNCE_DESCRIPTIONS.get(description or "")
    if kind in DROP_EVENTS:
        verdict = decided("suppressed", status, code)
    elif precise is not None:
        verdict = refined(precise, status, code, diagnostic)
    else:
        fallback = COARSE_DESCRIPTIONS.get(description or "") or COARSE_EVENTS[kind]
        verdict = inferred(status, code, diagnostic, fallback=fallback)
    return bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=diagnostic,
        extra={"bounce_description": description} if description else {},
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
