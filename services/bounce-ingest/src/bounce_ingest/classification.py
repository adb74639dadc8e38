"""Bounce reason and category from the evidence a bounce carries, in layers (pure, no I/O).

Strongest first, each layer only refining what a stronger one left open:

1. ``fields``: the RFC 3464 per-recipient fields (``Action: delayed`` is never permanent) and a
   precise label from whoever reported the bounce (``hint``);
2. ``status``: the RFC 3463 enhanced status code; an exact code (``5.1.1``) decides unless the text
   makes a more specific statement it allows (``yields``), a broad one (``5.7.1``) is a default the
   text refines, a generic one (``X.0.0``) says nothing but the class;
3. ``phrase``: what the diagnostic says (the data in ``dsn/evidence.toml``);
4. ``command``: the SMTP command the reply answered ("user unknown" after DATA is a filter);
5. ``reply``: the SMTP reply code (552 mailbox full unless the text says too large);
6. ``fallback``: ``onhold`` (``undefined`` for a 4xx answer) when nothing named a reason.

Reasons use Sisimai's current vocabulary; categories are the three a user acts on (ARCHITECTURE 4).
Provider parsers and the DSN parser both call :func:`classify` so one rule set decides everywhere.
"""

import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bounce_ingest.dsn.phrases import (
    BOILERPLATE,
    COMMAND_PATTERNS,
    COMMAND_REFINEMENTS,
    CONFIRMED_USER,
    PHRASES,
    PROVIDER_CODES,
    REPLY_REASONS,
    STATUS_MEANINGS,
    StatusMeaning,
)

Category = Literal["mailbox_unknown", "temporary", "spam_policy"]
Layer = Literal["fields", "status", "phrase", "command", "reply", "fallback"]
LAYERS: tuple[Layer, ...] = ("fields", "status", "phrase", "command", "reply", "fallback")

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

TEXT_LIMIT = 4096
"""Characters of one text the phrase layer reads (and the longest key its cache holds)."""

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_FAILURE_STATUS = re.compile(r"\b([45])\.(\d{1,3})\.(\d{1,3})\b")
_LEADING_REPLY = re.compile(r"^\W{0,4}([245]\d\d)(?![\w.])")
_SPACES = re.compile(r"\s+")
# Continuation prefixes of multi-line SMTP replies ("550-5.7.1 "), which split phrases apart.
_CONTINUATION = re.compile(r"(?<=\s)[245]\d\d(?:-(?:[245]\.\d{1,3}\.\d{1,3} )?| [245]\.\d{1,3}\.\d{1,3} )")
_NEXT_LINE_REPLY = re.compile(r"\n[ \t>]*[245]\d\d[- ](?:[245]\.\d{1,3}\.\d{1,3}[ \t])?")
# In an SMTP transcript the failing reply (the first 4xx/5xx after a 2xx/3xx) is what to read first.
_FAILING_REPLY = re.compile(r"(?<![\w.\-])[45]\d\d[ \-](?![\d.]{1,40}\b(?:\]|\)))")
_GOOD_REPLY = re.compile(r"(?<![\w.\-])[23]\d\d[ \-]")

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
    """What a bounce means: Sisimai reason, our category, whether the address is gone for good, and
    which layer of evidence decided the reason."""

    reason: str
    category: Category
    permanent: bool
    decided_by: Layer = "fallback"


class TextCache:
    """Phrase answers by text, least recently used first out, bounded by the bytes of its keys.

    Keys are already cut to ``TEXT_LIMIT`` characters, so no one entry can be large either. Safe to
    share between threads (parsing may run off the event loop).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> tuple[bool, str | None]:
        """(found, value); a hit becomes the most recently used entry."""
        with self._lock:
            try:
                value = self._entries[key]
            except KeyError:
                return False, None
            self._entries.move_to_end(key)
            return True, value

    def put(self, key: str, value: str | None) -> None:
        size = sys.getsizeof(key)
        with self._lock:
            if key in self._entries or size > self.max_bytes:
                return
            self._entries[key] = value
            self.bytes += size
            while self.bytes > self.max_bytes:
                evicted, _ = self._entries.popitem(last=False)
                self.bytes -= sys.getsizeof(evicted)


PHRASE_CACHE = TextCache(max_bytes=2 * 1024 * 1024)
"""The same diagnostic is read for several recipients and from several angles; 2 MiB of keys at most."""


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


def status_meaning(status: str | None) -> StatusMeaning | None:
    """What an enhanced status code says: the full code first, then its class and subject (X.Y.0)."""
    status = normalize_status(status)
    if status is None:
        return None
    klass, subject, _ = status.split(".")
    return STATUS_MEANINGS.get(status) or STATUS_MEANINGS.get(f"{klass}.{subject}.0")


def reason_from_status(status: str | None) -> str | None:
    """The reason an enhanced status code names by itself (None for a generic X.0.0)."""
    meaning = status_meaning(status)
    return meaning.reason if meaning else None


def reason_from_text(diagnostic: str | None) -> str | None:
    """The first reason whose provider or MTA phrases appear in the text (a transcript's failing reply
    first)."""
    if not diagnostic:
        return None
    failing = _failing_reply(diagnostic)
    return (failing and _reason_in(failing)) or _reason_in(diagnostic)


def _reason_in(text: str) -> str | None:
    key = text[:TEXT_LIMIT]
    found, reason = PHRASE_CACHE.get(key)
    if found:
        return reason
    reason = _read_phrases(key)
    PHRASE_CACHE.put(key, reason)
    return reason


def _read_phrases(text: str) -> str | None:
    text = _NEXT_LINE_REPLY.sub(" ", text.lower())
    text = BOILERPLATE.sub(" ", _CONTINUATION.sub("", _SPACES.sub(" ", text)))
    for pattern, ranges in PROVIDER_CODES:
        # A provider's own published error number beats generic wording.
        number = pattern.search(text)
        if number is not None:
            for first, last, reason in ranges:
                if first <= int(number[1]) <= last:
                    return reason
    for reason, phrase in PHRASES:
        if phrase.search(text):
            return reason
    return None


def _failing_reply(diagnostic: str) -> str:
    """In an SMTP transcript, the text from the first 4xx/5xx reply on (earlier replies were fine)."""
    found = _FAILING_REPLY.search(diagnostic, 0, TEXT_LIMIT)
    if found is None or not _GOOD_REPLY.search(diagnostic, 0, found.start()):
        return ""
    return diagnostic[found.start() :]


COMMAND_CACHE = TextCache(max_bytes=1024 * 1024)
"""Commands by text, read as often as the phrases; 1 MiB of keys at most."""


def smtp_command(text: str | None) -> str | None:
    """The SMTP command (DATA, RCPT, MAIL, CONN) the quoted server answer was a reply to."""
    if not text:
        return None
    key = text[: TEXT_LIMIT * 2]
    found, command = COMMAND_CACHE.get(key)
    if not found:
        command = _command_in(key)
        COMMAND_CACHE.put(key, command)
    return command


def _command_in(text: str) -> str | None:
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
    for command, pattern in COMMAND_PATTERNS:
        if pattern.search(lowered):
            return command
    return None


def _evident_status(status: str | None, diagnostic: str | None) -> str | None:
    """The status field, unless missing or generic (X.0.0) and the text quotes a code of its class."""
    enhanced = normalize_status(status)
    if enhanced is not None and not enhanced.endswith(".0.0"):
        return enhanced
    found = _FAILURE_STATUS.search(diagnostic, 0, TEXT_LIMIT) if diagnostic else None
    if found is None or (enhanced is not None and found[1] != enhanced[0]):
        return enhanced
    return f"{found[1]}.{int(found[2])}.{int(found[3])}"


def _evident_code(code: int | None, diagnostic: str | None) -> int | None:
    if code is not None:
        return code if 200 <= code < 600 else None
    found = _LEADING_REPLY.match(diagnostic) if diagnostic else None
    return int(found[1]) if found else None


def _confirmed_user(text: str) -> bool:
    """Wording that names the mailbox as missing, or a provider's own error number that does."""
    folded = _SPACES.sub(" ", text[:TEXT_LIMIT].lower())
    return bool(CONFIRMED_USER.search(folded)) or any(p.search(folded) for p, _ in PROVIDER_CODES)


def _refine(reason: str | None, command: str | None) -> str | None:
    refinements = COMMAND_REFINEMENTS.get(command or "", {})
    if reason in (None, "onhold", "undefined"):
        return refinements.get("*", reason)
    return refinements.get(reason or "", reason)


def decide(
    status: str | None,
    code: int | None,
    texts: Sequence[str],
    command: str | None,
) -> tuple[str | None, Layer]:
    """The reason the evidence names and the layer that named it (None, "fallback" when none did)."""
    meaning = status_meaning(status)
    phrase, said = next(((r, t) for t in texts if (r := reason_from_text(t)) is not None), (None, ""))
    # Wording that names the mailbox as missing is believed whatever the command or a broad code says.
    confirmed = phrase == "userunknown" and _confirmed_user(said)
    if meaning is not None and meaning.exact:
        if phrase in meaning.yields:
            return phrase, "phrase"
        if command in ("MAIL", "CONN"):
            refined = _refine(meaning.reason, command)
            if refined != meaning.reason:
                return refined, "command"
        return meaning.reason, "status"
    if phrase is not None:
        remapped = dict(meaning.remap).get(phrase) if meaning and command != "RCPT" else None
        if remapped is not None and not confirmed:
            return remapped, "status"
        refined = phrase if confirmed and command == "DATA" else _refine(phrase, command)
        return refined, ("phrase" if refined == phrase else "command")
    if meaning is not None:
        refined = _refine(meaning.reason, command)
        return refined, ("status" if refined == meaning.reason else "command")
    if code in REPLY_REASONS:
        return REPLY_REASONS[code], "reply"
    refined = _refine(None, command)
    return refined, ("command" if refined else "fallback")


def classify(
    status: str | None,
    code: int | None,
    diagnostic: str | None,
    hint: str | None = None,
    *,
    command: str | None = None,
    action: str | None = None,
    texts: Sequence[str] | None = None,
) -> Verdict:
    """Decide a bounce's reason and category from its evidence (see the module docstring).

    ``hint`` is a reason someone precise already named (a provider's exact classification) and wins.
    ``command`` is the SMTP command the reply answered (read from the diagnostic when not given);
    ``action`` the RFC 3464 Action (``delayed`` is temporary whatever the reason); ``texts`` the
    texts to read phrases from, in order (default: the diagnostic).
    """
    enhanced = _evident_status(status, diagnostic)
    code = _evident_code(code, diagnostic)
    klass = code // 100 if code is not None else (int(enhanced[0]) if enhanced else None)
    reason: str | None
    layer: Layer
    if hint in REASONS:
        reason, layer = hint, "fields"
    else:
        if command is None:
            command = smtp_command(diagnostic)
        reason, layer = decide(enhanced, code, texts if texts is not None else [diagnostic or ""], command)
        if reason not in REASONS:
            reason, layer = None, "fallback"
    delayed = (action or "").strip().lower() == "delayed"
    if reason is None:
        if delayed:
            reason, layer = "expired", "fields"
        else:
            reason = "onhold" if klass in (5, None) else "undefined"
    category = "temporary" if delayed else category_for(reason, klass * 100 if klass is not None else None)
    return Verdict(
        reason=reason, category=category, permanent=category == "mailbox_unknown", decided_by=layer
    )
