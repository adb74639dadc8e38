"""Postmark bounce and spam-complaint webhooks: Basic auth, one JSON object per POST.

Postmark's ``TypeCode`` is not reliable in the wild (a spam complaint arrives as 512), so the ``Type``
string decides.
"""

from datetime import datetime

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import BadPayload, ProviderResponses, WebhookRequest
from bounce_ingest.providers.basic_auth import BasicCredentials, check_basic
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    as_object,
    enhanced_status,
    iso_time,
    load_json,
    reply_code,
    required_text,
    text,
)
from bounce_ingest.providers.provider import Provider
from bounce_ingest.providers.verdicts import bounce_record, complaint_record, decided, inferred
from bounce_ingest.records import ParsedRequest

NAME = "postmark"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=403, transient=503)
"""Postmark retries non-200 for about 10.5 h and stops on 403, so 403 is for payloads it cannot fix."""

DECIDED_TYPES: dict[str, str] = {
    "BadEmailAddress": "userunknown",
    "ManuallyDeactivated": "suppressed",
    "SpamNotification": "spamdetected",
    "VirusNotification": "virusdetected",
    "DMARCPolicy": "authfailure",
}
"""Bounce ``Type`` values precise enough to be the reason."""
COARSE_TYPES: dict[str, str | None] = {
    "HardBounce": "userunknown",
    "SoftBounce": "undefined",
    "Transient": "undefined",
    "DnsError": "networkerror",
    "Blocked": "blocked",
    "Unknown": None,
}
"""Bounce ``Type`` values that only say hard, soft or blocked: ``Details`` refines them."""
COMPLAINT_TYPES = frozenset({"SpamComplaint"})
"""Every other type (AutoResponder, AddressChange, Subscribe, SMTPApiError, ...) is not a bounce."""


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> BasicCredentials | None:
    return BasicCredentials.from_setting(configured(settings.postmark_webhook_basic_auth))


async def verify(request: WebhookRequest, credentials: BasicCredentials | None, now: datetime) -> None:
    check_basic(request, credentials, NAME)


def parse(request: WebhookRequest) -> ParsedRequest:
    event = as_object(load_json(request.body), "body")
    record_type = text(event, "RecordType") or ("Bounce" if "Type" in event else None)
    if record_type is None:
        raise BadPayload("RecordType is missing")
    bounce_type = text(event, "Type") or record_type
    if record_type not in {"Bounce", "SpamComplaint"}:
        return ParsedRequest(records=[], ignored={record_type: 1})
    is_complaint = record_type == "SpamComplaint" or bounce_type in COMPLAINT_TYPES
    if not is_complaint and bounce_type not in DECIDED_TYPES and bounce_type not in COARSE_TYPES:
        return ParsedRequest(records=[], ignored={f"{record_type}/{bounce_type}": 1})
    event_id = f"{record_type}:{required_text(event, 'ID')}"
    recipient = required_text(event, "Email")
    occurred_at = iso_time(event.get("BouncedAt"), "BouncedAt")
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(event.get("Metadata")), echoed_id.from_tags(event.get("Tag"))
        ),
        "provider_message_id": text(event, "MessageID"),
        "raw_type": bounce_type,
    }
    if is_complaint:
        return ParsedRequest([complaint_record(NAME, event_id, recipient, occurred_at, **common)])
    details = text(event, "Details")
    status, code = enhanced_status(details), reply_code(details)
    precise = DECIDED_TYPES.get(bounce_type)
    verdict = (
        decided(precise, status, code)
        if precise is not None
        else inferred(status, code, details, fallback=COARSE_TYPES[bounce_type])
    )
    record = bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=details or text(event, "Description"),
        **common,
    )
    return ParsedRequest([record])


PROVIDER = Provider(name=NAME, verify=verify, parse=parse, responses=RESPONSES, credentials=credentials_from)
