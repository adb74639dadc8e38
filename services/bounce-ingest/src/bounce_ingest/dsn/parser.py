"""``parse_bounce_email``: one raw email in, one Classification out, never an exception.

Order of evidence: a feedback report (complaint), an SES notification, RFC 3464 delivery-status
fields, then, for MTAs that write no delivery-status part, the notice itself (after ruling out
automatic replies and delay warnings).
"""

import dataclasses
import re

from bounce_ingest.dsn.anatomy import Anatomy, dissect, fields_from_text
from bounce_ingest.dsn.delivery_status import RecipientReport, address_in, recipient_reports
from bounce_ingest.dsn.model import Classification
from bounce_ingest.dsn.notice import NOTICE_LIMIT, Notice, fold, notice_reports, split_notice
from bounce_ingest.dsn.references import original_message_id, seevee_message_id
from bounce_ingest.dsn.ses_notification import read_ses_notification
from bounce_ingest.dsn.signals import (
    is_auto_reply,
    is_delay_notice,
    is_receipt_or_challenge,
    looks_like_bounce,
    plain_complaint,
)
from bounce_ingest.dsn.verdicts import bounces_for

_NOT_FAILED = ("delivered", "relayed", "expanded", "deliverable", "delayed")
_QUOTED_TO = re.compile(r"^[ \t>]*to:[ \t]*(.{3,300})$", re.IGNORECASE | re.MULTILINE)


def parse_bounce_email(raw: bytes) -> Classification:
    """Classify a raw RFC 5322 email as a bounce (with its failed recipients) or as what it is instead."""
    try:
        return _parse(raw)
    except Exception:
        return Classification(kind="not_a_bounce")


def _parse(raw: bytes) -> Classification:
    anatomy = dissect(raw)
    notice = split_notice(anatomy.notice)
    ids = {
        "original_message_id": original_message_id(anatomy, notice.original),
        "seevee_message_id": seevee_message_id(anatomy, raw),
    }
    if anatomy.feedback is not None or anatomy.report_type == "feedback-report":
        feedback = anatomy.feedback or {}
        recipients = [
            a
            for a in (address_in(feedback.get(k, "")) for k in ("original-rcpt-to", "removal-recipient"))
            if a
        ]
        feedback_type = feedback.get("feedback-type", "").strip().lower() or None
        return Classification(kind="complaint", feedback_type=feedback_type, recipients=recipients, **ids)
    complaint = plain_complaint(anatomy)
    if complaint is not None:
        feedback_type, recipients = complaint
        return Classification(kind="complaint", feedback_type=feedback_type, recipients=recipients, **ids)
    ses = read_ses_notification(anatomy.notice) if "notificationType" in anatomy.notice else None
    if ses is not None:
        ids["original_message_id"] = ids["original_message_id"] or ses.message_id
        if ses.kind == "complaint":
            return Classification(
                kind="complaint", feedback_type=ses.feedback_type, recipients=ses.recipients, **ids
            )
        if ses.kind in ("delivery", "delivered"):
            return Classification(kind="delivered", recipients=ses.recipients, **ids)
        failed = [r for r in ses.reports if r.action not in _NOT_FAILED]
        if failed:
            return Classification(kind="bounce", bounces=bounces_for(failed, notice), **ids)
        if ses.reports:
            return Classification(kind="delayed", recipients=[r.recipient for r in ses.reports], **ids)
    blocks = anatomy.status_blocks or _inline_status(anatomy.notice)
    reports = recipient_reports(blocks) if blocks else []
    if reports:
        failed = [r for r in reports if r.action not in _NOT_FAILED and not (r.status or "").startswith("2")]
        if failed:
            return Classification(kind="bounce", bounces=bounces_for(failed, notice), **ids)
        recipients = [r.recipient for r in reports]
        if any(r.action == "delayed" for r in reports):
            return Classification(kind="delayed", recipients=recipients, **ids)
        return Classification(kind="delivered", recipients=recipients, **ids)
    if is_receipt_or_challenge(anatomy):
        return Classification(kind="not_a_bounce", **ids)
    if not looks_like_bounce(anatomy, notice):
        kind = "auto_reply" if is_auto_reply(anatomy) else "not_a_bounce"
        return Classification(kind=kind, **ids)
    exclude = _senders(anatomy)
    found = _notice_recipients(anatomy, notice, exclude)
    if is_delay_notice(anatomy, notice):
        return Classification(kind="delayed", recipients=[r.recipient for r in found], **ids)
    if not found:
        return Classification(kind="not_a_bounce", **ids)
    returned = anatomy.original_text[:NOTICE_LIMIT] or notice.original
    said = {r.recipient: r.diagnostic for r in found}
    return Classification(kind="bounce", bounces=bounces_for(found, notice, returned, said), **ids)


def _inline_status(text: str) -> list[dict[str, str]]:
    """Delivery-status fields written into a text part instead of their own MIME part."""
    lowered = text.lower()
    if "final-recipient:" not in lowered and "original-recipient:" not in lowered:
        return []
    start = min(i for i in (lowered.find("final-recipient:"), lowered.find("original-recipient:")) if i >= 0)
    head = lowered.rfind("\n\n", 0, start)
    return fields_from_text(text[head + 2 if head >= 0 else 0 :])


def _senders(anatomy: Anatomy) -> set[str]:
    """Addresses of the bounce's sender and the original sender: never the failed recipient."""
    found: set[str] = set()
    for headers in (anatomy.headers, *anatomy.original_headers):
        for name in ("from", "reply-to", "sender", "return-path"):
            address = address_in(headers.get(name, ""))
            if address:
                found.add(address)
    to = address_in(anatomy.headers.get("to", ""))
    if to:
        found.add(to)
    return found


def _notice_recipients(anatomy: Anatomy, notice: Notice, exclude: set[str]) -> list[RecipientReport]:
    failed_header = anatomy.headers.get("x-failed-recipients", "")
    reports = notice_reports(notice.text, exclude)
    if failed_header:
        listed = [a for a in (address_in(p) for p in failed_header.split(",")) if a]
        reports = _pair_listed(listed, reports, fold(notice.text))
    if reports:
        return reports
    quoted_to = _QUOTED_TO.search(notice.original)
    for value in [h.get("to", "") for h in anatomy.original_headers] + [quoted_to[1] if quoted_to else ""]:
        address = address_in(value)
        if address:
            return [RecipientReport(address, "failed", diagnostic=fold(notice.text))]
    return []


def _pair_listed(listed: list[str], reports: list[RecipientReport], fallback: str) -> list[RecipientReport]:
    """Reports for the X-Failed-Recipients addresses: matched by address, else by position."""
    by_address = {r.recipient: r for r in reports}
    paired: list[RecipientReport] = []
    for index, address in enumerate(listed):
        report = by_address.get(address)
        if report is None and len(reports) == len(listed):
            report = dataclasses.replace(reports[index], recipient=address)
        paired.append(report or RecipientReport(address, "failed", diagnostic=fallback))
    return paired
