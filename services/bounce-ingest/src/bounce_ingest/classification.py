"""Bounce reason and category from an SMTP status, reply code and diagnostic text (pure, no I/O).

Reasons use Sisimai's current vocabulary; categories are the three a user acts on (ARCHITECTURE 4).
Provider parsers and the DSN parser both call :func:`classify` so one rule set decides everywhere.
"""

import functools
import re
from dataclasses import dataclass
from typing import Literal

from bounce_ingest.dsn.phrases import (
    BOILERPLATE,
    COMMAND_PHRASES,
    COMMAND_REFINEMENTS,
    CONFIRMED_USER_PHRASES,
    PROVIDER_CODES,
    REASON_PHRASES,
    STATUS_REASONS,
    SUBJECT_REASONS,
    UNCONFIRMED_USER_PHRASES,
)

Category = Literal["mailbox_unknown", "temporary", "spam_policy"]

REASON_CATEGORY: dict[str, Category] = {
    "userunknown": "mailbox_unknown",
    "hostunknown": "mailbox_unknown",
    "hasmoved": "mailbox_unknown",
    "suspend": "mailbox_unknown",
    "suppressed": "mailbox_unknown",
    "notaccept": "mailbox_unknown",
    "mailboxfull": "temporary",
    "expired": "temporary",
    "networkerror": "temporary",
    "systemerror": "temporary",
    "systemfull": "temporary",
    "ratelimited": "temporary",
    "emailtoolarge": "temporary",
    "mailererror": "temporary",
    "syntaxerror": "temporary",
    "onhold": "temporary",
    "undefined": "temporary",
    "blocked": "spam_policy",
    "spamdetected": "spam_policy",
    "policyviolation": "spam_policy",
    "badreputation": "spam_policy",
    "authfailure": "spam_policy",
    "requireptr": "spam_policy",
    "notcompliantrfc": "spam_policy",
    "rejected": "spam_policy",
    "norelaying": "spam_policy",
    "securityerror": "spam_policy",
    "virusdetected": "spam_policy",
    "contenterror": "spam_policy",
    "filtered": "spam_policy",
    "failedstarttls": "spam_policy",
}

# Every reason a bounce can carry (Sisimai's names; delivered/feedback/vacation are not bounces).
REASONS: frozenset[str] = frozenset(REASON_CATEGORY)

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SPACES = re.compile(r"\s+")
# Continuation prefixes of multi-line SMTP replies ("550-5.7.1 "), which split phrases apart.
_CONTINUATION = re.compile(r"(?<=\s)[245]\d\d(?:-(?:[245]\.\d{1,3}\.\d{1,3} )?| [245]\.\d{1,3}\.\d{1,3} )")
_BOILERPLATE = re.compile("|".join(BOILERPLATE))
_NEXT_LINE_REPLY = re.compile(r"\n[ \t>]*[245]\d\d[- ](?:[245]\.\d{1,3}\.\d{1,3}[ \t])?")
# One pattern per phrase, in table order: separate patterns keep the engine's literal-prefix search.
_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(phrase)) for reason, phrases in REASON_PHRASES for phrase in phrases
)
_PROVIDER_CODES: tuple[tuple[re.Pattern[str], tuple[tuple[int, int, str], ...]], ...] = tuple(
    (re.compile(pattern), ranges) for pattern, ranges in PROVIDER_CODES
)

_UNCONFIRMED_USER = re.compile("|".join(UNCONFIRMED_USER_PHRASES))
_CONFIRMED_USER = re.compile("|".join(CONFIRMED_USER_PHRASES))
_COMMANDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (command, re.compile(pattern)) for command, pattern in COMMAND_PHRASES
)

# Sendmail-style transcripts: the ">>> VERB" sent just before the first "<<< 4xx/5xx" reply.
_TRANSCRIPT_ERROR = re.compile(r"<<< ?[45]\d\d")
_TRANSCRIPT_COMMAND = re.compile(r">>> ?(data|rcpt|mail|helo|ehlo|\.)")
_TRANSCRIPT_VERBS = {
    "data": "DATA",
    ".": "DATA",
    "rcpt": "RCPT",
    "mail": "MAIL",
    "helo": "CONN",
    "ehlo": "CONN",
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a bounce means: Sisimai reason, our category, and whether the address is gone for good."""

    reason: str
    category: Category
    permanent: bool


def category_for(reason: str, code: int | None = None) -> Category:
    """The category of a reason; ``notaccept`` is temporary when the reply (or status class) is 4xx."""
    if reason == "notaccept" and code is not None and 400 <= code < 500:
        return "temporary"
    return REASON_CATEGORY.get(reason, "temporary")


def normalize_status(status: str | None) -> str | None:
    """The enhanced status code (``X.Y.Z``) found in ``status``, or None."""
    if not status:
        return None
    found = _STATUS.search(status)
    if found is None:
        return None
    return f"{found[1]}.{int(found[2])}.{int(found[3])}"


def reason_from_text(diagnostic: str | None) -> str | None:
    """The first reason whose provider or MTA phrases appear in the diagnostic text."""
    return _reason_in(diagnostic) if diagnostic else None


@functools.lru_cache(maxsize=2048)
def _reason_in(diagnostic: str) -> str | None:
    # Cached: the same diagnostic is read for several recipients and from several angles.
    text = _NEXT_LINE_REPLY.sub(" ", diagnostic.lower())
    text = _BOILERPLATE.sub(" ", _CONTINUATION.sub("", _SPACES.sub(" ", text)))
    coded = _provider_code_reason(text)
    if coded is not None:
        return coded
    for reason, pattern in _PHRASES:
        if pattern.search(text):
            return reason
    return None


def _provider_code_reason(text: str) -> str | None:
    """The reason a provider's published error number names (its own code beats generic wording)."""
    for pattern, ranges in _PROVIDER_CODES:
        found = pattern.search(text)
        if found is None:
            continue
        number = int(found[1])
        for first, last, reason in ranges:
            if first <= number <= last:
                return reason
    return None


def smtp_command(text: str | None) -> str | None:
    """The SMTP command (DATA, RCPT, MAIL, CONN) the quoted server answer was a reply to."""
    if not text:
        return None
    lowered = text.lower()
    reply = _TRANSCRIPT_ERROR.search(lowered)
    if reply is not None:
        # Only this session's commands count: a transcript may show several hosts one after another.
        session = lowered.rfind("while talking to ", 0, reply.start())
        sent = [m[1] for m in _TRANSCRIPT_COMMAND.finditer(lowered, max(session, 0), reply.start())]
        if sent:
            return _TRANSCRIPT_VERBS.get(sent[-1])
        if session >= 0 and ">>>" not in lowered[session : reply.start()]:
            # Refused before we sent a single command: the server's greeting was the error.
            return "CONN"
    lowered = _SPACES.sub(" ", lowered)
    for command, pattern in _COMMANDS:
        if pattern.search(lowered):
            return command
    return None


def refine_for_command(
    reason: str | None, command: str | None, status: str | None = None, text: str | None = None
) -> str | None:
    """A reason adjusted for the SMTP command it answered.

    "User unknown" is believed when said to RCPT TO, with an X.1.1-style status, or in wording that
    names the mailbox as missing; otherwise, said at DATA or in generic wording with no command known,
    it is a content filter speaking.
    """
    if (
        reason == "userunknown"
        and command not in ("RCPT", "MAIL")
        and reason_from_status(normalize_status(status)) != "userunknown"
        and not _confirmed_user(text)
        and (command == "DATA" or _unconfirmed_user(text))
    ):
        return "filtered"
    if command is None:
        return reason
    refined = COMMAND_REFINEMENTS.get((command, reason or ""))
    if refined is None and reason in (None, "onhold", "undefined"):
        refined = COMMAND_REFINEMENTS.get((command, "*"))
    return refined or reason


def _unconfirmed_user(text: str | None) -> bool:
    """Whether the text uses generic "unknown user" wording."""
    return bool(text) and bool(_UNCONFIRMED_USER.search(_SPACES.sub(" ", (text or "").lower())))


def _confirmed_user(text: str | None) -> bool:
    """Whether the text names the mailbox as missing (not just "unknown user")."""
    return bool(text) and bool(_CONFIRMED_USER.search(_SPACES.sub(" ", (text or "").lower())))


def reason_from_status(status: str | None) -> str | None:
    """The reason an enhanced status code names by itself (full code first, then class and subject)."""
    status = normalize_status(status)
    if status is None:
        return None
    return STATUS_REASONS.get(status) or SUBJECT_REASONS.get(status.rpartition(".")[0])


def classify(
    status: str | None, code: int | None, diagnostic: str | None, hint: str | None = None
) -> Verdict:
    """Decide a bounce's reason and category.

    A valid ``hint`` (a reason a provider or MTA-specific parser already knows) wins; otherwise the
    diagnostic phrases decide (greylisting reads as ``ratelimited``, so temporary), then the enhanced
    status code, refined by the SMTP command the diagnostic quotes. With nothing to go on the reason
    is ``onhold`` (``undefined`` for a 4xx answer).
    """
    enhanced = normalize_status(status)
    if code is not None and not 200 <= code < 600:
        code = None
    klass = code // 100 if code is not None else (int(enhanced[0]) if enhanced else None)
    reason = hint if hint in REASONS else None
    if reason is None:
        reason = reason_from_text(diagnostic)
        if reason is None:
            from_status = reason_from_status(enhanced)
            reason = from_status if from_status in REASONS else None
        reason = refine_for_command(reason, smtp_command(diagnostic), enhanced, diagnostic)
    if reason is None:
        reason = "onhold" if klass in (5, None) else "undefined"
    category = category_for(reason, klass * 100 if klass is not None else None)
    return Verdict(reason=reason, category=category, permanent=category == "mailbox_unknown")
