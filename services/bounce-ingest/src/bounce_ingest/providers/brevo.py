"""Brevo (Sendinblue) transactional webhooks: Basic auth; one event, or an array when batched.

Brevo gives no event id, so the id is ``message-id:event:ts_epoch:email``. ``ts_epoch`` is UTC
milliseconds (``date``/``ts`` follow the account's time zone); some samples carry seconds, told apart
by size. A ``deferred`` event is not final even when it quotes a 5xx reply: the final ``hard_bounce``
follows.
"""

from datetime import datetime

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

NAME = "brevo"
RESPONSES = ProviderResponses(unauthorized=401, bad_payload=400, transient=429)
"""Brevo's docs say 4xx other than 429 and any 5xx stop its retries: 429 is the one way to ask for one."""

EVENTS = frozenset(
    {
        "request",
        "sent",
        "delivered",
        "hard_bounce",
        "soft_bounce",
        "blocked",
        "spam",
        "complaint",
        "invalid_email",
        "deferred",
        "error",
        "unsubscribed",
        "click",
        "opened",
        "unique_opened",
        "proxy_open",
        "unique_proxy_open",
    }
)
DECIDED_EVENTS: dict[str, str] = {"invalid_email": "userunknown"}
SUPPRESSION_EVENTS = frozenset({"blocked"})
"""``blocked``: Brevo refused to send to a contact on its block list (earlier bounce, complaint,
unsubscribe); a reason that says unsubscribed makes it a complaint of that type, not a bounce."""
COARSE_EVENTS: dict[str, str] = {"hard_bounce": "userunknown", "soft_bounce": "undefined"}
COMPLAINT_EVENTS = frozenset({"spam", "complaint"})
MILLISECONDS_FROM = 100_000_000_000
"""Epochs above this are milliseconds (1973 in milliseconds, year 5138 in seconds)."""


def credentials_from(settings: WebhookCredentials, runtime: ProviderRuntime) -> BasicCredentials | None:
    return BasicCredentials.from_setting(configured(settings.brevo_webhook_basic_auth))


async def verify(request: WebhookRequest, credentials: BasicCredentials | None, now: datetime) -> None:
    check_basic(request, credentials, NAME)


def parse(request: WebhookRequest) -> ParsedRequest:
    document = load_json(request.body)
    return gather(document if isinstance(document, list) else [document], _record)


def event_time(event: JsonObject) -> tuple[str, datetime]:
    for key in ("ts_epoch", "ts_event", "ts"):
        value = text(event, key)
        if value is not None:
            try:
                milliseconds = float(value) >= MILLISECONDS_FROM
            except ValueError as error:
                raise BadPayload(f"{key} is not a unix time") from error
            return value, epoch(value, key, milliseconds=milliseconds)
    raise BadPayload("the event has no time")


def _record(kind: str, event: JsonObject) -> ProviderRecord | None:
    if (
        kind not in DECIDED_EVENTS
        and kind not in COARSE_EVENTS
        and kind not in COMPLAINT_EVENTS
        and kind not in SUPPRESSION_EVENTS
    ):
        return None
    recipient = required_text(event, "email")
    stamp, occurred_at = event_time(event)
    message_id = text(event, "message-id")
    event_id = f"{message_id}:{kind}:{stamp}:{recipient.lower()}"
    common = {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_mapping(event.get("X-Mailin-custom")),
            echoed_id.from_tags(event.get("tags")),
            echoed_id.from_tags(event.get("tag")),
        ),
        "provider_message_id": message_id,
        "smtp_message_id": message_id,
        "raw_type": kind,
    }
    if kind in COMPLAINT_EVENTS:
        return complaint_record(NAME, event_id, recipient, occurred_at, feedback_type=kind, **common)
    diagnostic = text(event, "reason")
    status, code = enhanced_status(diagnostic), reply_code(diagnostic)
    precise = DECIDED_EVENTS.get(kind)
    if kind in SUPPRESSION_EVENTS:
        if mentions_unsubscribe(diagnostic):
            return unsubscribe_record(NAME, event_id, recipient, occurred_at, **common)
        verdict = decided("suppressed", status, code)
    elif precise is not None:
        verdict = refined(precise, status, code, diagnostic)
    else:
        verdict = inferred(status, code, diagnostic, fallback=COARSE_EVENTS[kind])
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
