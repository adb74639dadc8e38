"""SparkPost (Bird) webhooks: Basic auth; a JSON array of ``{"msys": {"<class>_event": {...}}}`` batches.

``{"msys": {}}`` is the ping SparkPost sends when a webhook is created or tested.
"""

from datetime import datetime
from typing import Any

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import BadPayload, ProviderResponses, WebhookRequest
from bounce_ingest.providers.basic_auth import BasicCredentials, check_basic
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    JsonObject,
    enhanced_status,
    epoch,
    gather,
    load_json,
    reply_code,
    required_text,
    smtp_code,
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

NAME = "sparkpost"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=400, transient=503)
"""SparkPost retries a non-200 batch for 8 h and times out after 10 s."""

EVENTS = frozenset(
    {
        "bounce",
        "delivery",
        "injection",
        "sms_status",
        "spam_complaint",
        "out_of_band",
        "policy_rejection",
        "delay",
        "click",
        "open",
        "initial_open",
        "amp_click",
        "amp_open",
        "amp_initial_open",
        "generation_failure",
        "generation_rejection",
        "list_unsubscribe",
        "link_unsubscribe",
        "relay_injection",
        "relay_rejection",
        "relay_delivery",
        "relay_tempfail",
        "relay_permfail",
        "ab_test_completed",
        "ab_test_cancelled",
        "ping",
    }
)
"""Message, track, generation, unsubscribe, relay and A/B test events (``ping``: the empty test batch)."""
DECIDED_CLASSES: dict[str, str] = {
    "10": "userunknown",
    "22": "mailboxfull",
    "23": "emailtoolarge",
    "24": "expired",
    "51": "blocked",
    "52": "spamdetected",
    "53": "contenterror",
    "54": "norelaying",
}
"""``bounce_class`` values that decide the category (SparkPost's bounce classification table)."""
SUPPRESSION_CLASSES = frozenset({"25", "26"})
"""Admin failure and Smart Send suppression: SparkPost refused to send (its suppression list, a policy)."""
COARSE_CLASSES: dict[str, str | None] = {
    "1": None,
    "20": "undefined",
    "21": "networkerror",
    "30": "userunknown",
    "40": "undefined",
    "50": "blocked",
    "70": "undefined",
}
"""Classes that only say soft, hard or block: status and text refine them."""
NOT_FAILURES = frozenset({"60", "80", "90", "100"})
"""Auto-reply, subscribe, unsubscribe and challenge-response messages: no delivery failed."""
BOUNCE_TYPES = frozenset({"bounce", "out_of_band", "policy_rejection", "generation_rejection"})
"""``generation_rejection``: SparkPost refused to generate the message for this recipient (suppression,
policy); ``generation_failure`` (a template that did not render) says nothing about the recipient."""


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> BasicCredentials | None:
    return BasicCredentials.from_setting(configured(settings.sparkpost_webhook_basic_auth))


async def verify(request: WebhookRequest, credentials: BasicCredentials | None, now: datetime) -> None:
    check_basic(request, credentials, NAME)


def parse(request: WebhookRequest) -> ParsedRequest:
    document = load_json(request.body)
    if isinstance(document, dict) and "msys" in document:
        document = [document]
    if not isinstance(document, list):
        raise BadPayload("SparkPost posts a JSON array")
    events: list[Any] = []
    pings = 0
    for item in document:
        msys = item.get("msys") if isinstance(item, dict) else None
        if not isinstance(msys, dict):
            events.append(msys)
        elif not msys:
            pings += 1
        else:
            events.extend(msys.values())
    parsed = gather(events, _record, _kind)
    if pings:
        parsed.ignored["ping"] = pings
    return parsed


def _kind(event: JsonObject) -> str:
    return required_text(event, "type")


def _record(kind: str, event: JsonObject) -> ProviderRecord | str | None:
    if kind not in BOUNCE_TYPES and kind != "spam_complaint":
        return None
    bounce_class = text(event, "bounce_class") or "1"
    if kind in BOUNCE_TYPES and bounce_class in NOT_FAILURES:
        return f"{kind}/{bounce_class}"
    recipient = required_text(event, "rcpt_to")
    occurred_at = epoch(event.get("timestamp"), "timestamp")
    event_id = required_text(event, "event_id")
    transmission_id = text(event, "transmission_id")
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(event.get("rcpt_meta")), echoed_id.from_tags(event.get("rcpt_tags"))
        ),
        "provider_message_id": text(event, "message_id"),
        "extra": {"transmission_id": transmission_id} if transmission_id else {},
    }
    if kind == "spam_complaint":
        return complaint_record(
            NAME,
            event_id,
            recipient,
            occurred_at,
            feedback_type=text(event, "fbtype") or "abuse",
            raw_type=kind,
            **common,
        )
    diagnostic = text(event, "raw_reason") or text(event, "reason")
    raw_type = f"{kind}/{bounce_class}"
    if bounce_class in SUPPRESSION_CLASSES and mentions_unsubscribe(diagnostic):
        return unsubscribe_record(NAME, event_id, recipient, occurred_at, raw_type=raw_type, **common)
    code = smtp_code(event.get("error_code")) or reply_code(diagnostic)
    status = enhanced_status(diagnostic)
    precise = DECIDED_CLASSES.get(bounce_class)
    if bounce_class in SUPPRESSION_CLASSES:
        verdict = decided("suppressed", status, code)
    elif precise is not None:
        verdict = refined(precise, status, code, diagnostic)
    else:
        verdict = inferred(status, code, diagnostic, fallback=COARSE_CLASSES.get(bounce_class))
    return bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=diagnostic,
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
