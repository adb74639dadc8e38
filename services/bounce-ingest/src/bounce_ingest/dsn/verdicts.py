"""From recipient reports to classified bounces: which texts are evidence, then the shared classifier.

The diagnostic comes first (in a transcript, from the failing reply on), then the reporting MTA's own
words after the Status code, then the notice text after and before the recipient, and last a server
answer quoted in the returned message (a forwarded bounce). The SMTP command is read from the same
texts. ``classification.classify`` weighs them against the status and reply codes.
"""

import re

from bounce_ingest import classification
from bounce_ingest.dsn.delivery_status import RecipientReport, failure_status
from bounce_ingest.dsn.model import DsnBounce
from bounce_ingest.dsn.notice import Notice, fold, notice_reports
from bounce_ingest.dsn.phrases import DOMAIN_REASONS

# A bounce naming more failed recipients than this is cut short (the rest are not reported).
MAX_RECIPIENTS = 1000
# A server reply quoted on its own line ("<<< 550 5.1.1 ...", "550-5.7.1 ..."), not a number in prose.
_QUOTED_REPLY = re.compile(r"^[ \t<>]*[45]\d\d[ \-]", re.MULTILINE)


def bounces_for(
    reports: list[RecipientReport], notice: Notice, returned: str = "", said: dict[str, str] | None = None
) -> list[DsnBounce]:
    """One classified bounce per failed (or delayed) recipient report.

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
        texts = [report.status_text, diagnostic, after, before]
        if status is None and returned and not any(map(classification.reason_from_text, texts)):
            returned_lowered = returned_lowered or returned.lower()
            forwarded = _forwarded_answer(returned, returned_lowered, report.recipient)
            if forwarded:
                texts, status = [forwarded], failure_status(forwarded)
        command = classification.smtp_command(diagnostic) or classification.smtp_command(after)
        if command is None and len(reports) == 1 and "<<<" in notice.text:
            # A single failure: the notice's SMTP transcript is about it, wherever the address appears.
            command = classification.smtp_command(notice.text)
        verdict = classification.classify(
            status, report.code, diagnostic, command=command, action=report.action, texts=texts
        )
        domain_reason = DOMAIN_REASONS.get(report.recipient.rpartition("@")[2])
        if domain_reason is not None and verdict.decided_by == "fallback":
            verdict = classification.classify(status, report.code, None, domain_reason, action=report.action)
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
                decided_by=verdict.decided_by,
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


def _notice_context(text: str, lowered: str, recipient: str) -> tuple[str, str]:
    """The notice text before a recipient's first mention (bounded), and the text after it."""
    at = lowered.find(recipient) if text else -1
    if at < 0:
        return "", ""
    return text[max(0, at - 600) : at], text[at : at + 1500]
