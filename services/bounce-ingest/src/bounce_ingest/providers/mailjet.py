"""Mailjet Event API: Basic auth; one event object, or an array when events are grouped.

Mailjet gives no event id, so the id is ``MessageID:event:time:email``, the same on every retry.
``MessageID`` exceeds 2^53 and stays an exact integer (Python's JSON reader keeps it).
"""

from datetime import datetime

from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import ProviderResponses, WebhookRequest
from bounce_ingest.providers.basic_auth import BasicCredentials, check_basic
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials, configured
from bounce_ingest.providers.fields import (
    JsonObject,
    enhanced_status,
    epoch,
    flag,
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

NAME = "mailjet"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=400, transient=503)
"""Mailjet retries anything but 200 every 30 s for 24 h, then suspends the endpoint."""

EVENTS = frozenset({"sent", "open", "click", "bounce", "blocked", "spam", "unsub"})
ERRORS: dict[tuple[str, str], str] = {
    ("recipient", "user unknown"): "userunknown",
    ("recipient", "mailbox inactive"): "suspend",
    ("recipient", "quota exceeded"): "mailboxfull",
    ("recipient", "blacklisted"): "suppressed",
    ("domain", "invalid domain"): "hostunknown",
    ("domain", "no mail host"): "hostunknown",
    ("domain", "typofix"): "hostunknown",
    ("domain", "relay/access denied"): "norelaying",
    ("content", "bad or empty template"): "mailererror",
    ("content", "error in template language"): "mailererror",
    ("spam", "sender blocked"): "blocked",
    ("spam", "content blocked"): "spamdetected",
    ("spam", "policy issue"): "policyviolation",
    ("system", "system issue"): "systemerror",
    ("system", "protocol issue"): "systemerror",
    ("system", "connection issue"): "networkerror",
    ("mailjet", "preblocked"): "suppressed",
}
"""Mailjet's (error_related_to, error) table to reasons; a status or text of the same category refines."""
SUPPRESSION_ERRORS = frozenset({("recipient", "blacklisted"), ("mailjet", "preblocked")})
COMPLAINT_ERRORS = frozenset({("recipient", "spam reporter")})
"""A send refused because the recipient once reported spam: a complaint, as with the other providers."""
NOT_BOUNCES = frozenset({("mailjet", "duplicate in campaign")})
COARSE_ERRORS: dict[tuple[str, str], str] = {("domain", "greylisted"): "undefined"}


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> BasicCredentials | None:
    return BasicCredentials.from_setting(configured(settings.mailjet_webhook_basic_auth))


async def verify(request: WebhookRequest, credentials: BasicCredentials | None, now: datetime) -> None:
    check_basic(request, credentials, NAME)


def parse(request: WebhookRequest) -> ParsedRequest:
    document = load_json(request.body)
    return gather(document if isinstance(document, list) else [document], _record)


def _record(kind: str, event: JsonObject) -> ProviderRecord | str | None:
    if kind not in {"bounce", "blocked", "spam"}:
        return None
    error = ((text(event, "error_related_to") or "").lower(), (text(event, "error") or "").lower())
    if error in NOT_BOUNCES:
        return f"{kind}/{error[0]}/{error[1]}"
    recipient = required_text(event, "email")
    time = required_text(event, "time")
    occurred_at = epoch(time, "time")
    message_id = text(event, "MessageID")
    event_id = f"{message_id}:{kind}:{time}:{recipient.lower()}"
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(event.get("Payload")), echoed_id.from_tags(event.get("CustomID"))
        ),
        "provider_message_id": message_id,
    }
    if kind == "spam" or error in COMPLAINT_ERRORS:
        feedback = text(event, "source") if kind == "spam" else "spam reporter"
        return complaint_record(
            NAME, event_id, recipient, occurred_at, feedback_type=feedback, raw_type=kind, **common
        )
    diagnostic = text(event, "comment") or text(event, "error")
    status, code = enhanced_status(diagnostic), reply_code(diagnostic)
    precise = ERRORS.get(error)
    if error in SUPPRESSION_ERRORS and mentions_unsubscribe(diagnostic):
        return unsubscribe_record(NAME, event_id, recipient, occurred_at, raw_type=kind, **common)
    if error in SUPPRESSION_ERRORS:
        verdict = decided("suppressed", status, code)
    elif precise is not None:
        verdict = refined(precise, status, code, diagnostic)
    else:
        coarse = (
            "blocked" if kind == "blocked" else ("userunknown" if flag(event, "hard_bounce") else "undefined")
        )
        verdict = inferred(status, code, diagnostic, fallback=COARSE_ERRORS.get(error, coarse))
    return bounce_record(
        NAME,
        event_id,
        recipient,
        occurred_at,
        verdict,
        smtp_code=code,
        smtp_status=status,
        diagnostic=diagnostic,
        raw_type=f"{kind}/{error[0]}/{error[1]}",
        extra={"message_guid": guid} if (guid := text(event, "Message_GUID")) else {},
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
