"""From recipient reports to classified bounces: which text to read, then the shared classifier.

The diagnostic decides first (in a transcript, from the failing reply on), then the notice text
around the recipient, then the recipient's domain and the status code; the SMTP command refines it.
"""

import re

from bounce_ingest import classification
from bounce_ingest.dsn.delivery_status import RecipientReport, failure_status
from bounce_ingest.dsn.model import DsnBounce
from bounce_ingest.dsn.notice import Notice, fold, notice_reports
from bounce_ingest.dsn.phrases import DOMAIN_REASONS

# A bounce naming more failed recipients than this is cut short (the rest are not reported).
MAX_RECIPIENTS = 1000
_FAILING_REPLY = re.compile(r"(?<![\w.\-])[45]\d\d[ \-](?![\d.]{1,40}\b(?:\]|\)))")
_GOOD_REPLY = re.compile(r"(?<![\w.\-])[23]\d\d[ \-]")


def bounces_for(reports: list[RecipientReport], notice: Notice) -> list[DsnBounce]:
    """One classified bounce per failed recipient report."""
    bounces: list[DsnBounce] = []
    lowered = notice.text.lower()
    # What the notice says about each address, up to the next address it names.
    said = {r.recipient: r.diagnostic for r in notice_reports(notice.text, set())} if notice.text else {}
    for report in reports[:MAX_RECIPIENTS]:
        diagnostic = report.diagnostic
        before, after = _notice_context(notice.text, lowered, report.recipient)
        after = said.get(report.recipient, after)
        status = report.status if diagnostic else _status_in_notice(report.status, after)
        reason = (
            classification.reason_from_text(report.status_text)
            or classification.reason_from_text(_failing_reply(diagnostic))
            or classification.reason_from_text(diagnostic)
            or classification.reason_from_text(after)
            or classification.reason_from_text(before)
            or DOMAIN_REASONS.get(report.recipient.rpartition("@")[2])
            or classification.reason_from_status(status)
        )
        command = classification.smtp_command(diagnostic) or classification.smtp_command(after)
        context = f"{diagnostic}\n{after}"
        hint = classification.refine_for_command(reason, command, status, context)
        verdict = classification.classify(status, report.code, diagnostic, hint)
        bounces.append(
            DsnBounce(
                recipient=report.recipient,
                category=verdict.category,
                reason=verdict.reason,
                permanent=verdict.permanent,
                smtp_status=status,
                smtp_code=report.code,
                diagnostic=fold(diagnostic) or None,
                remote_mta=report.remote_mta,
            )
        )
    return bounces


def _status_in_notice(field_status: str | None, said: str) -> str | None:
    """A report without a diagnostic: the notice's code for the recipient when the field is generic."""
    quoted = failure_status(said)
    if field_status is None:
        return quoted
    if quoted and quoted[0] == field_status[0] and field_status.endswith(".0.0"):
        return quoted
    return field_status


def _failing_reply(diagnostic: str) -> str:
    """In an SMTP transcript, the text from the first 4xx/5xx reply on (earlier replies were fine)."""
    found = _FAILING_REPLY.search(diagnostic)
    if found is None or not _GOOD_REPLY.search(diagnostic, 0, found.start()):
        return ""
    return diagnostic[found.start() :]


def _notice_context(text: str, lowered: str, recipient: str) -> tuple[str, str]:
    """The notice text before a recipient's first mention (bounded), and the text after it."""
    at = lowered.find(recipient) if text else -1
    if at < 0:
        return "", ""
    return text[max(0, at - 600) : at], text[at : at + 1500]
