"""Postmark bounce and spam-complaint webhooks: Basic auth, one JSON object per POST.

Postmark's ``TypeCode`` is not reliable in the wild (a spam complaint arrives as 512), so the ``Type``
string decides.
"""

from datetime import datetime

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import ProviderResponses, WebhookRequest
from bounce_ingest.providers.basic_auth import BasicCredentials, check_basic
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    JsonObject,
    as_object,
    enhanced_status,
    flag,
    iso_time,
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
    refined,
    unsubscribe_record,
)
from bounce_ingest.records import ParsedRequest

NAME = "postmark"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=403, transient=503)
"""Postmark retries non-200 for about 10.5 h and stops on 403, so 403 is for payloads it cannot fix."""

EVENTS = frozenset(
    {"Bounce", "SpamComplaint", "Delivery", "Open", "Click", "SubscriptionChange", "Inbound", "unknown"}
)
"""``RecordType`` values (``Inbound``, ``unknown``: inbound mail and shapes told by no field we know)."""
DECIDED_TYPES: dict[str, str] = {
    "BadEmailAddress": "userunknown",
    "SpamNotification": "spamdetected",
    "VirusNotification": "virusdetected",
    "DMARCPolicy": "authfailure",
}
"""Bounce ``Type`` values that decide the category; ``Details`` of that category refines them."""
SUPPRESSED_TYPES = frozenset({"ManuallyDeactivated"})
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
"""Every other type (AutoResponder, AddressChange, Subscribe, Unsubscribe, ChallengeVerification,
OpenRelayTest, Unconfirmed, SMTPApiError, InboundError, TemplateRenderingFailed) is not a bounce."""
SHAPES: tuple[tuple[str, str], ...] = (
    ("SuppressSending", "SubscriptionChange"),
    ("ChangedAt", "SubscriptionChange"),
    ("BouncedAt", "Bounce"),
    ("DeliveredAt", "Delivery"),
    ("FirstOpen", "Open"),
    ("OriginalLink", "Click"),
    ("ClickLocation", "Click"),
    ("FromFull", "Inbound"),
)
"""Older delivery webhooks carry no ``RecordType``: the field that only that kind has tells it."""


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> BasicCredentials | None:
    return BasicCredentials.from_setting(configured(settings.postmark_webhook_basic_auth))


async def verify(request: WebhookRequest, credentials: BasicCredentials | None, now: datetime) -> None:
    check_basic(request, credentials, NAME)


def record_type(event: JsonObject) -> str:
    """``RecordType``, or for the older shapes the kind their fields reveal."""
    given = text(event, "RecordType")
    if given is not None:
        return given
    if "Type" in event and ("Email" in event or "ID" in event):
        return "SpamComplaint" if text(event, "Type") in COMPLAINT_TYPES else "Bounce"
    return next((kind for field, kind in SHAPES if field in event), "unknown")


def parse(request: WebhookRequest) -> ParsedRequest:
    event = as_object(load_json(request.body), "body")
    kind = record_type(event)
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(event.get("Metadata")), echoed_id.from_tags(event.get("Tag"))
        ),
        "provider_message_id": text(event, "MessageID"),
    }
    if kind == "SubscriptionChange":
        return subscription_change(event, common)
    if kind not in {"Bounce", "SpamComplaint"}:
        return ParsedRequest(records=[], ignored={kind: 1})
    bounce_type = text(event, "Type") or kind
    is_complaint = kind == "SpamComplaint" or bounce_type in COMPLAINT_TYPES
    known = bounce_type in DECIDED_TYPES or bounce_type in COARSE_TYPES or bounce_type in SUPPRESSED_TYPES
    if not is_complaint and not known:
        return ParsedRequest(records=[], ignored={f"{kind}/{bounce_type}": 1})
    event_id = f"{kind}:{required_text(event, 'ID')}"
    recipient = required_text(event, "Email")
    occurred_at = iso_time(event.get("BouncedAt"), "BouncedAt")
    if is_complaint:
        record = complaint_record(
            NAME, event_id, recipient, occurred_at, feedback_type="abuse", raw_type=bounce_type, **common
        )
        return ParsedRequest([record])
    details = text(event, "Details")
    status, code = enhanced_status(details), reply_code(details)
    precise = DECIDED_TYPES.get(bounce_type)
    if bounce_type in SUPPRESSED_TYPES:
        verdict = decided("suppressed", status, code)
    elif precise is not None:
        verdict = refined(precise, status, code, details)
    else:
        verdict = inferred(status, code, details, fallback=COARSE_TYPES[bounce_type])
    record = bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=details or text(event, "Description"),
        raw_type=bounce_type,
        **common,
    )
    return ParsedRequest([record])


def subscription_change(event: JsonObject, common: dict[str, str | None]) -> ParsedRequest:
    """A suppression list change: on Broadcast streams the only report of hard bounces and complaints.

    A hard bounce or spam complaint that suppressed the address is that bounce or complaint; the
    recipient's own unsubscribe is a complaint of type ``unsubscribe``; a reactivation, or a
    suppression the sender made by hand, reports nothing about the recipient.
    """
    reason = text(event, "SuppressionReason") or ""
    if not flag(event, "SuppressSending"):
        return ParsedRequest(records=[], ignored={"SubscriptionChange/reactivated": 1})
    origin = text(event, "Origin") or ""
    recipient = required_text(event, "Recipient")
    changed_at = required_text(event, "ChangedAt")
    occurred_at = iso_time(changed_at, "ChangedAt")
    event_id = f"SubscriptionChange:{common['provider_message_id']}:{changed_at}"
    raw_type = f"SubscriptionChange/{reason}"
    if reason == "HardBounce":
        verdict = decided("suppressed", None, None)
        record = bounce_record(NAME, event_id, recipient, occurred_at, verdict, raw_type=raw_type, **common)
    elif reason == "SpamComplaint":
        record = complaint_record(
            NAME, event_id, recipient, occurred_at, feedback_type="abuse", raw_type=raw_type, **common
        )
    elif reason == "ManualSuppression" and origin == "Recipient":
        record = unsubscribe_record(NAME, event_id, recipient, occurred_at, raw_type=raw_type, **common)
    else:
        return ParsedRequest(records=[], ignored={f"{raw_type}/{origin}": 1})
    return ParsedRequest([record])


PROVIDER = Provider(
    name=NAME,
    verify=verify,
    parse=parse,
    responses=RESPONSES,
    credentials=credentials_from,
    events=EVENTS,
)
