"""SparkPost (Bird) webhooks: Basic auth; a JSON array of ``{"msys": {"<class>_event": {...}}}`` batches.

``{"msys": {}}`` is the ping SparkPost sends when a webhook is created or tested.
"""

from collections import Counter
from datetime import datetime

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import BadPayload, ProviderResponses, WebhookRequest
from bounce_ingest.providers.basic_auth import BasicCredentials, check_basic
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    JsonObject,
    as_object,
    enhanced_status,
    epoch,
    load_json,
    object_list,
    reply_code,
    required_text,
    smtp_code,
    text,
)
from bounce_ingest.providers.provider import Provider
from bounce_ingest.providers.verdicts import bounce_record, complaint_record, decided, inferred
from bounce_ingest.records import ParsedRequest, ProviderRecord

NAME = "sparkpost"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=400, transient=503)
"""SparkPost retries a non-200 batch for 8 h and times out after 10 s."""

DECIDED_CLASSES: dict[str, str] = {
    "10": "userunknown",
    "22": "mailboxfull",
    "23": "emailtoolarge",
    "24": "expired",
    "25": "suppressed",
    "26": "suppressed",
    "51": "blocked",
    "52": "spamdetected",
    "53": "contenterror",
    "54": "norelaying",
}
"""``bounce_class`` values precise enough to be the reason (SparkPost's bounce classification table)."""
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
BOUNCE_TYPES = frozenset({"bounce", "out_of_band", "policy_rejection"})


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> BasicCredentials | None:
    return BasicCredentials.from_setting(configured(settings.sparkpost_webhook_basic_auth))


async def verify(request: WebhookRequest, credentials: BasicCredentials | None, now: datetime) -> None:
    check_basic(request, credentials, NAME)


def parse(request: WebhookRequest) -> ParsedRequest:
    document = load_json(request.body)
    if not isinstance(document, list):
        raise BadPayload("SparkPost posts a JSON array")
    records: list[ProviderRecord] = []
    ignored: Counter[str] = Counter()
    for item in object_list(document, "batch"):
        msys = as_object(item.get("msys"), "msys")
        if not msys:
            ignored["ping"] += 1
            continue
        for event_class, body in msys.items():
            event = as_object(body, event_class)
            kind = required_text(event, "type")
            record = _record(kind, event)
            if record is None:
                bounce_class = text(event, "bounce_class")
                ignored[f"{kind}/{bounce_class}" if kind in BOUNCE_TYPES else kind] += 1
            else:
                records.append(record)
    return ParsedRequest(records=records, ignored=dict(ignored))


def _record(kind: str, event: JsonObject) -> ProviderRecord | None:
    if kind not in BOUNCE_TYPES and kind != "spam_complaint":
        return None
    bounce_class = text(event, "bounce_class") or "1"
    if kind in BOUNCE_TYPES and bounce_class in NOT_FAILURES:
        return None
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
            feedback_type=text(event, "fbtype"),
            raw_type=kind,
            **common,
        )
    diagnostic = text(event, "raw_reason") or text(event, "reason")
    code = smtp_code(event.get("error_code")) or reply_code(diagnostic)
    status = enhanced_status(diagnostic)
    precise = DECIDED_CLASSES.get(bounce_class)
    verdict = (
        decided(precise, status, code)
        if precise is not None
        else inferred(status, code, diagnostic, fallback=COARSE_CLASSES.get(bounce_class))
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
        raw_type=f"{kind}/{bounce_class}",
        **common,
    )


PROVIDER = Provider(name=NAME, verify=verify, parse=parse, responses=RESPONSES, credentials=credentials_from)
