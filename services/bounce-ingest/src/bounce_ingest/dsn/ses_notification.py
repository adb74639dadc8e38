"""Amazon SES notifications delivered by email (SNS email subscriptions): JSON in the body."""

import re
from dataclasses import dataclass, field
from typing import Any

from bounce_ingest.classification import normalize_status
from bounce_ingest.dsn.delivery_status import RecipientReport, address_in, best_status, reply_code
from bounce_ingest.untrusted_json import NotJson, parse_json

_WRAP = re.compile(r"\n ?")


@dataclass
class SesNotification:
    """The parts of an SES notification a bounce email answer needs."""

    kind: str
    reports: list[RecipientReport] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    feedback_type: str | None = None
    message_id: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)


def read_ses_notification(text: str) -> SesNotification | None:
    """The notification in a body, or None when the body holds no SES JSON."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start or ("notificationType" not in text and "eventType" not in text):
        return None
    document = _load(text[start : end + 1])
    if document is None:
        return None
    if isinstance(document.get("Message"), str):
        inner = _load(document["Message"])
        document = inner if inner is not None else document
    kind = str(document.get("notificationType") or document.get("eventType") or "").lower()
    mail = _object(document.get("mail"))
    notification = SesNotification(kind=kind)
    message_id = _object(mail.get("commonHeaders")).get("messageId")
    notification.message_id = message_id if isinstance(message_id, str) else None
    tags = mail.get("tags")
    notification.tags = tags if isinstance(tags, dict) else {}
    if kind == "bounce":
        notification.reports = _bounce_reports(document.get("bounce"))
    elif kind == "complaint":
        complaint = _object(document.get("complaint"))
        notification.recipients = _addresses(complaint.get("complainedRecipients"))
        feedback = complaint.get("complaintFeedbackType")
        notification.feedback_type = str(feedback) if feedback else None
    elif kind in ("delivery", "delivered"):
        delivery = _object(document.get("delivery"))
        notification.recipients = [str(r) for r in delivery.get("recipients", []) if isinstance(r, str)]
    return notification


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _load(text: str) -> dict[str, Any] | None:
    for candidate in (text, _WRAP.sub("", text)):
        try:
            loaded = parse_json(candidate)
        except NotJson:
            continue
        if isinstance(loaded, dict):
            return loaded
    return None


def _addresses(entries: Any) -> list[str]:
    found: list[str] = []
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict):
                address = address_in(str(entry.get("emailAddress", "")))
                if address:
                    found.append(address)
    return found


def _bounce_reports(bounce: Any) -> list[RecipientReport]:
    if not isinstance(bounce, dict):
        return []
    reports: list[RecipientReport] = []
    for entry in bounce.get("bouncedRecipients") or []:
        if not isinstance(entry, dict):
            continue
        address = address_in(str(entry.get("emailAddress", "")))
        if not address:
            continue
        diagnostic = str(entry.get("diagnosticCode") or "")
        kind, _, diagnostic_text = diagnostic.partition(";")
        diagnostic = diagnostic_text.strip() if _ and " " not in kind.strip() else diagnostic
        status = entry.get("status")
        reports.append(
            RecipientReport(
                recipient=address,
                action=str(entry.get("action") or "failed").lower(),
                status=best_status(normalize_status(str(status)) if status else None, diagnostic),
                code=reply_code(diagnostic),
                diagnostic=diagnostic
                or " ".join(str(bounce.get(k) or "") for k in ("bounceType", "bounceSubType")),
                remote_mta=str(bounce.get("reportingMTA") or "").removeprefix("dns;").strip() or None,
            )
        )
    return reports
