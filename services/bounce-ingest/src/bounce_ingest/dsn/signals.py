"""What kind of message this is, when no delivery-status fields say so: bounce, delay, reply, complaint.

Headers and notice wording decide; the phrase lists live in ``markers``.
"""

import re

from bounce_ingest.dsn.anatomy import Anatomy
from bounce_ingest.dsn.delivery_status import address_in
from bounce_ingest.dsn.markers import (
    AUTO_REPLY_SUBJECT,
    BOUNCE_BODY,
    BOUNCE_SENDER,
    BOUNCE_SUBJECT,
    CHALLENGE_SUBJECT,
    COMPLAINT_SUBJECT,
    DELAY_NOTICE,
    DELAY_SUBJECT,
    FINAL_NOTICE,
    LIST_REFUSAL_SUBJECT,
    LIST_SERVER_HEADERS,
    RECEIPT_SUBJECT,
    UNSUBSCRIBE_SUBJECT,
)
from bounce_ingest.dsn.notice import Notice

_REPLY_SUBJECT = re.compile(r"\s*(?:re|aw|sv|vs|antw|odp|r)\s*:", re.IGNORECASE)
_AUTO_REPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-mail-autoreply")


def looks_like_bounce(anatomy: Anatomy, notice: Notice) -> bool:
    """Whether a message without delivery-status fields is a bounce notice.

    A mailer-daemon sender (or X-Failed-Recipients) is enough; a bounce-like subject or body also needs
    bounce wording or the returned original, so a person writing "undeliverable" is not a bounce.
    """
    headers = anatomy.headers
    if BOUNCE_SENDER.search(headers.get("from", "")):
        return True
    if "x-failed-recipients" in headers:
        return True
    if any(name in headers for name in LIST_SERVER_HEADERS) and LIST_REFUSAL_SUBJECT.search(
        headers.get("subject", "")
    ):
        return True
    null_sender = headers.get("return-path", "").strip() == "<>"
    subject = headers.get("subject", "")
    if (is_auto_reply(anatomy) or _REPLY_SUBJECT.match(subject)) and not null_sender:
        return False
    returned = bool(anatomy.original_headers or anatomy.original_text or notice.original)
    wording = bool(BOUNCE_BODY.search(notice.text))
    if BOUNCE_SUBJECT.search(subject):
        return wording or returned
    return wording and (returned or null_sender)


def is_receipt_or_challenge(anatomy: Anatomy) -> bool:
    """A read receipt (MDN) or a challenge-response request: neither says the message bounced.

    Only when the sender is not a mail system, whose notices often quote such a subject."""
    headers = anatomy.headers
    if BOUNCE_SENDER.search(headers.get("from", "")) or "x-failed-recipients" in headers:
        return False
    if anatomy.report_type == "disposition-notification":
        return True
    subject = headers.get("subject", "")
    return bool(RECEIPT_SUBJECT.search(subject) or CHALLENGE_SUBJECT.search(subject))


def is_delay_notice(anatomy: Anatomy, notice: Notice) -> bool:
    """Whether a bounce-like notice only warns that delivery is still being retried."""
    if DELAY_SUBJECT.search(anatomy.headers.get("subject", "")):
        return True
    return bool(DELAY_NOTICE.search(notice.text)) and not FINAL_NOTICE.search(notice.text)


def is_auto_reply(anatomy: Anatomy) -> bool:
    """RFC 3834 auto-replies and the usual out-of-office markers."""
    headers = anatomy.headers
    if any(name in headers for name in _AUTO_REPLY_HEADERS):
        return True
    if headers.get("precedence", "").strip().lower() == "auto_reply":
        return True
    if AUTO_REPLY_SUBJECT.search(headers.get("subject", "")):
        return True
    return headers.get("auto-submitted", "").strip().lower().startswith("auto-replied")


def plain_complaint(anatomy: Anatomy) -> tuple[str, list[str]] | None:
    """A complaint without a feedback-report part: (feedback type, complaining addresses), or None.

    Microsoft's JMRP attaches the original under a "complaint about message from" subject; a reply
    to a List-Unsubscribe mailto is an opt-out.
    """
    subject = anatomy.headers.get("subject", "")
    if COMPLAINT_SUBJECT.search(subject) and anatomy.original_headers:
        original = anatomy.original_headers[0]
        found = address_in(original.get("x-hmxmroriginalrecipient", "")) or address_in(original.get("to", ""))
        return "abuse", [found] if found else []
    if UNSUBSCRIBE_SUBJECT.search(subject) and not BOUNCE_SENDER.search(anatomy.headers.get("from", "")):
        found = address_in(anatomy.headers.get("from", ""))
        return "opt-out", [found] if found else []
    return None
