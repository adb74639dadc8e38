"""Mailgun's legacy (pre-2018) webhooks: form-encoded fields, the signature among them.

Accounts that never moved to the JSON webhooks still post ``event`` (``bounced``, ``dropped``,
``complained``, ``delivered``, ...), ``recipient``, ``code``, ``error`` / ``description``, ``reason``
(drops) and ``timestamp`` / ``token`` / ``signature`` as form fields. They are read here, so an old
account's bounces are acknowledged and stored rather than refused.
"""

from urllib.parse import parse_qsl

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import BadPayload, WebhookRequest
from bounce_ingest.providers.fields import enhanced_status, epoch, reply_code, smtp_code
from bounce_ingest.providers.verdicts import (
    bounce_record,
    complaint_record,
    decided,
    inferred,
    mentions_unsubscribe,
    unsubscribe_record,
)
from bounce_ingest.records import ParsedRequest, ProviderRecord
from bounce_ingest.untrusted_json import NotJson, parse_json

NAME = "mailgun"
EVENTS = frozenset({"bounced", "dropped", "complained", "delivered", "opened", "clicked", "unsubscribed"})
FORM = "application/x-www-form-urlencoded"
SUPPRESSED_CODES: dict[str, str] = {"605": "suppressed"}
"""Legacy drop codes: 605 an earlier bounce; 606 an unsubscribe and 607 a spam report are no bounces."""


def is_form(request: WebhookRequest) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == FORM or (not content_type and not request.body.lstrip().startswith(b"{"))


def fields(request: WebhookRequest) -> dict[str, str]:
    try:
        pairs = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError) as error:
        raise BadPayload("the body is not form-encoded") from error
    return {name: value.strip() for name, value in pairs}


def parse(request: WebhookRequest) -> ParsedRequest:
    form = fields(request)
    kind = form.get("event", "")
    if not kind:
        raise BadPayload("event is missing")
    if kind not in {"bounced", "dropped", "complained"}:
        return ParsedRequest(records=[], ignored={kind: 1})
    return ParsedRequest(records=[_record(kind, form)])


def _record(kind: str, form: dict[str, str]) -> ProviderRecord:
    recipient = form.get("recipient", "")
    if not recipient:
        raise BadPayload("recipient is missing")
    occurred_at = epoch(form.get("timestamp"), "timestamp")
    event_id = form.get("token") or f"{kind}:{form.get('Message-Id')}:{form.get('timestamp')}"
    message_id = (form.get("Message-Id") or form.get("message-id") or "").strip() or None
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(form), echoed_id.from_headers(_headers(form.get("message-headers")))
        ),
        "provider_message_id": message_id,
        "smtp_message_id": message_id,
        "raw_type": f"legacy/{kind}",
    }
    code_text = form.get("code", "")
    description = form.get("error") or form.get("description") or form.get("notification") or None
    if kind == "complained" or code_text == "607":
        return complaint_record(NAME, event_id, recipient, occurred_at, feedback_type="abuse", **common)
    if code_text == "606" or (kind == "dropped" and mentions_unsubscribe(description)):
        return unsubscribe_record(NAME, event_id, recipient, occurred_at, **common)
    code = smtp_code(code_text) or reply_code(description)
    status = enhanced_status(description)
    suppressed = SUPPRESSED_CODES.get(code_text)
    if suppressed is not None:
        verdict = decided(suppressed, status, code)
    else:
        fallback = "expired" if form.get("reason") == "old" else "userunknown"
        verdict = inferred(status, code, description, fallback=fallback if kind == "bounced" else None)
    return bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=description,
        **common,
    )


def _headers(value: str | None) -> list[dict[str, object]]:
    """``message-headers``: a JSON list of ``[name, value]`` pairs."""
    if not value:
        return []
    try:
        pairs = parse_json(value)
    except NotJson:
        return []
    if not isinstance(pairs, list):
        return []
    return [
        {"name": pair[0], "value": pair[1]}
        for pair in pairs
        if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
    ]
