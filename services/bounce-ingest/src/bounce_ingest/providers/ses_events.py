"""The SES notification inside an SNS message: feedback notifications and configuration-set events.

Only ``bouncedRecipients`` / ``complainedRecipients`` bounced or complained; ``mail.destination`` lists
every recipient of the message, so it is never used for them.
"""

from collections.abc import Iterator
from typing import Any

from bounce_ingest.classification import Verdict
from bounce_ingest.providers import echoed_id
from bounce_ingest.providers.base import BadPayload
from bounce_ingest.providers.fields import (
    JsonObject,
    as_object,
    enhanced_status,
    iso_time,
    object_list,
    optional_object,
    reply_code,
    required_text,
    text,
)
from bounce_ingest.providers.verdicts import (
    bounce_record,
    complaint_record,
    decided,
    inferred,
    not_final,
    refined,
)
from bounce_ingest.records import ParsedRequest, ProviderRecord

NAME = "ses"

EVENTS = frozenset(
    {
        "Bounce",
        "Complaint",
        "Delivery",
        "Send",
        "Reject",
        "Open",
        "Click",
        "Rendering Failure",
        "DeliveryDelay",
        "Subscription",
        "AmazonSnsSubscriptionSucceeded",
    }
)
"""Feedback ``notificationType`` and event-publishing ``eventType`` values."""
SUPPRESSED_SUBTYPES = frozenset({"Suppressed", "OnAccountSuppressionList"})
"""SES did not even try: the address is on its global or the account's suppression list."""
DECIDED_BOUNCES: dict[tuple[str, str], str] = {
    ("Permanent", "NoEmail"): "userunknown",
    ("Transient", "MailboxFull"): "mailboxfull",
    ("Transient", "MessageTooLarge"): "emailtoolarge",
    ("Transient", "ContentRejected"): "contenterror",
    ("Transient", "AttachmentRejected"): "contenterror",
}
"""(bounceType, bounceSubType) pairs that decide the category; the recipient's status refines them."""
COARSE_BOUNCES: dict[str, str | None] = {"Permanent": "userunknown", "Transient": "undefined"}
"""Otherwise the status and diagnostic decide (Transient 5.1.1 or 5.4.4 is really hard), then this."""
NOT_COMPLAINTS = frozenset({"not-spam"})


def bounce_verdict(
    bounce_type: str, sub_type: str, status: str | None, code: int | None, text_: str | None
) -> Verdict:
    if sub_type in SUPPRESSED_SUBTYPES and bounce_type != "Transient":
        return decided("suppressed", status, code)
    precise = DECIDED_BOUNCES.get((bounce_type, sub_type))
    if precise is not None:
        return refined(precise, status, code, text_)
    return inferred(status, code, text_, fallback=COARSE_BOUNCES.get(bounce_type))


def parse_notification(notification: JsonObject, event_id: str, published_at: str | None) -> ParsedRequest:
    kind = text(notification, "notificationType") or text(notification, "eventType")
    if kind is None:
        raise BadPayload("neither notificationType nor eventType")
    if kind == "Reject":
        return ParsedRequest(records=list(_rejects(notification, event_id, published_at)))
    if kind not in {"Bounce", "Complaint"}:
        return ParsedRequest(records=[], ignored={kind: 1})
    mail = optional_object(notification, "mail")
    common = _message_fields(mail)
    fallback_time = mail.get("timestamp") or published_at
    if kind == "Complaint":
        complaint = as_object(notification.get("complaint"), "complaint")
        return _complaints(complaint, event_id, fallback_time, common)
    bounce = as_object(notification.get("bounce"), "bounce")
    records: list[ProviderRecord] = []
    ignored: dict[str, int] = {}
    for outcome in _bounces(bounce, event_id, fallback_time, common):
        if isinstance(outcome, str):
            ignored[outcome] = ignored.get(outcome, 0) + 1
        else:
            records.append(outcome)
    return ParsedRequest(records=records, ignored=ignored)


def _complaints(
    complaint: JsonObject, event_id: str, fallback_time: Any, common: dict[str, Any]
) -> ParsedRequest:
    """Spam reports (any ``complaintFeedbackType`` but ``not-spam``), and sends SES refused because the
    recipient complained before (``complaintSubType: OnAccountSuppressionList``)."""
    feedback_type = text(complaint, "complaintFeedbackType")
    sub_type = text(complaint, "complaintSubType")
    if feedback_type in NOT_COMPLAINTS:
        return ParsedRequest(records=[], ignored={f"Complaint/{feedback_type}": 1})
    at = iso_time(complaint.get("timestamp") or fallback_time, "complaint.timestamp")
    raw_type = f"Complaint/{sub_type}" if sub_type else "Complaint"
    records = [
        complaint_record(
            NAME, event_id, address, at, feedback_type=feedback_type, raw_type=raw_type, **common
        )
        for address, _ in _recipients(complaint, "complainedRecipients")
    ]
    return ParsedRequest(records=records)


def _bounces(
    bounce: JsonObject, event_id: str, fallback_time: Any, common: dict[str, Any]
) -> Iterator[ProviderRecord | str]:
    """One record per failed recipient; a recipient whose ``action`` is ``delayed`` has not bounced."""
    bounce_type = text(bounce, "bounceType") or "Undetermined"
    sub_type = text(bounce, "bounceSubType") or "Undetermined"
    at = iso_time(bounce.get("timestamp") or fallback_time, "bounce.timestamp")
    feedback_id = text(bounce, "feedbackId")
    for address, recipient in _recipients(bounce, "bouncedRecipients"):
        action = text(recipient, "action")
        if not_final(action):
            yield f"Bounce/{action}"
            continue
        diagnostic = text(recipient, "diagnosticCode")
        status = enhanced_status(text(recipient, "status")) or enhanced_status(diagnostic)
        code = reply_code(diagnostic)
        yield bounce_record(
            NAME,
            event_id,
            address,
            at,
            bounce_verdict(bounce_type, sub_type, status, code, diagnostic),
            smtp_code=code,
            smtp_status=status,
            diagnostic=diagnostic,
            remote_mta=text(bounce, "remoteMtaIp"),
            raw_type=f"{bounce_type}/{sub_type}",
            extra={"feedback_id": feedback_id} if feedback_id else {},
            **common,
        )


def _rejects(notification: JsonObject, event_id: str, published_at: str | None) -> Iterator[ProviderRecord]:
    """SES refused to send (a virus, usually): every recipient of the message is dropped."""
    mail = as_object(notification.get("mail"), "mail")
    reason = text(optional_object(notification, "reject"), "reason")
    at = iso_time(mail.get("timestamp") or published_at, "mail.timestamp")
    destination = mail.get("destination")
    if not isinstance(destination, list) or not destination:
        raise BadPayload("mail.destination is missing")
    for address in destination:
        if not isinstance(address, str) or not address.strip():
            raise BadPayload("mail.destination holds a non-address")
        yield bounce_record(
            NAME,
            event_id,
            address,
            at,
            inferred(None, None, reason, fallback="rejected"),
            diagnostic=reason,
            raw_type="Reject",
            **_message_fields(mail),
        )


def _recipients(block: JsonObject, key: str) -> Iterator[tuple[str, JsonObject]]:
    entries = block.get(key)
    if not isinstance(entries, list) or not entries:
        raise BadPayload(f"{key} is missing")
    for entry in object_list(entries, key):
        yield required_text(entry, "emailAddress"), entry


def _message_fields(mail: JsonObject) -> dict[str, Any]:
    common_headers = optional_object(mail, "commonHeaders")
    return {
        "seevee_message_id": echoed_id.first(
            echoed_id.from_tags(mail.get("tags")), echoed_id.from_headers(mail.get("headers"))
        ),
        "provider_message_id": text(mail, "messageId"),
        "smtp_message_id": text(common_headers, "messageId"),
    }
