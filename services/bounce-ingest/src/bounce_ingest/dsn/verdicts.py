"""From recipient reports to classified bounces: which text to read, then the shared classifier.

The diagnostic decides first (in a transcript, from the failing reply on), then the notice text
around the recipient, then the recipient's domain and the status code, and last a server answer
quoted in the returned message (a forwarded bounce); the SMTP command refines it.
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
# A server reply quoted on its own line ("<<< 550 5.1.1 ...", "550-5.7.1 ..."), not a number in prose.
_QUOTED_REPLY = re.compile(r"^[ \t<>]*[45]\d\d[ \-]", re.MULTILINE)
_GOOD_REPLY = re.compile(r"(?<![\w.\-])[23]\d\d[ \-]")


def bounces_for(
    reports: list[RecipientReport], notice: Notice, returned: str = "", said: dict[str, str] | None = None
) -> list[DsnBounce]:
    """One classified bounce per failed recipient report.

    ``said`` maps each address to what the notice says about it, when the caller has read that already;
    otherwise it is read here, once an address is found in the notice (many delivery-status reports never
    repeat it there). ``returned`` is the text of the returned message: when the notice gives neither
    reason nor status, it may itself be an earlier bounce that quotes the server's answer.
    """
    bounces: list[DsnBounce] = []
    lowered = notice.text.lower()
    returned_lowered = ""
    for report in reports[:MAX_RECIPIENTS]:
        diagnostic = report.diagnostic
        before, after = _notice_context(notice.text, lowered, report.recipient)
        if after:
            if said is None:
                said = {r.recipient: r.diagnostic for r in notice_reports(notice.text, set())}
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
        forwarded = ""
        if reason is None and status is None and returned:
            returned_lowered = returned_lowered or returned.lower()
            forwarded = _forwarded_answer(returned, returned_lowered, report.recipient)
        if forwarded:
            after, status = forwarded, failure_status(forwarded)
            reason = classification.reason_from_text(forwarded) or classification.reason_from_status(status)
        command = classification.smtp_command(diagnostic) or classification.smtp_command(after)
        if command is None and len(reports) == 1 and "<<<" in notice.text:
            # A single failure: the notice's SMTP transcript is about it, wherever the address appears.
            command = classification.smtp_command(notice.text)
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


def _forwarded_answer(returned: str, lowered: str, recipient: str) -> str:
    """What a returned message says after naming the recipient, if it quotes a failing server reply
    on a line of its own (a number in the sender's prose is not a reply)."""
    at = lowered.find(recipient)
    if at < 0:
        return ""
    context = returned[at : at + 1500]
    return context if _QUOTED_REPLY.search(context) else ""


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
