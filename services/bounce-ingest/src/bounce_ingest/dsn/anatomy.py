"""MIME walking: split a raw email once into the pieces the bounce rules look at.

Line endings are normalised first (LF, CRLF and CR-only input alike). The policy is
``email.policy.default`` with one change: header values stay plain strings. Building the structured
header objects costs most of the parse time and the bounce rules only need raw values (and
Content-Type parameters, which ``Message`` parses from strings itself).
"""

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.errors import MessageError
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from typing import Any

_RECIPIENT_FIELDS = frozenset(("final-recipient", "original-recipient"))
_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+")
_MAX_DEPTH = 12
_MAX_PARTS = 200
_TAG = re.compile(r"<[^<>]{0,2000}>")
_HTML_LIMIT = 256 * 1024
_ENTITIES = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"', "&#39;": "'"}
_ENTITY = re.compile("|".join(_ENTITIES))


@dataclass
class Anatomy:
    """The parts of one email that matter for bounce parsing."""

    headers: dict[str, str]
    report_type: str = ""
    status_blocks: list[dict[str, str]] = field(default_factory=list)
    feedback: dict[str, str] | None = None
    notice: str = ""
    original_headers: list[dict[str, str]] = field(default_factory=list)
    original_text: str = ""


def _raw_header(name: str, value: str) -> str:
    return value


class _IndexedMessage(EmailMessage):
    """A message that finds a header by name in one dict lookup.

    The parser asks every part for its Content-Type (and the rules for a few more fields) many
    times, and the stock lookup lowercases every header of the part on each call; most of a bounce's
    headers are Received lines. The index is rebuilt after any change to the headers.
    """

    _index: dict[str, Any] | None = None
    _type: str | None = None

    def get_content_type(self) -> str:
        if self._type is None or self._index is None:
            self._type = super().get_content_type()
        return self._type

    def get(self, name: str, failobj: Any = None) -> Any:
        index = self._index
        if index is None:
            index = {}
            for key, value in self.raw_items():
                index.setdefault(key.lower(), (key, value))
            self._index = index
        lowered = name.lower()
        found = index.get(lowered)
        if found is None:
            return failobj
        if isinstance(found, tuple):
            found = index[lowered] = self.policy.header_fetch_parse(*found)
        return found

    def set_raw(self, name: str, value: Any) -> None:
        self._index = None
        super().set_raw(name, value)

    def __setitem__(self, name: str, val: Any) -> None:
        self._index = None
        super().__setitem__(name, val)

    def __delitem__(self, name: str) -> None:
        self._index = None
        super().__delitem__(name)

    def replace_header(self, _name: str, _value: Any) -> None:
        self._index = None
        super().replace_header(_name, _value)

    def set_boundary(self, boundary: str) -> None:
        self._index = None
        super().set_boundary(boundary)


_POLICY = email.policy.default.clone(header_factory=_raw_header, message_factory=_IndexedMessage)


def unix_line_endings(raw: bytes) -> bytes:
    """CRLF and CR-only line endings turned into LF."""
    if b"\r" in raw:
        return raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return raw


def read_email(raw: bytes) -> Message:
    """Parse bytes into a message, whatever the line endings."""
    return email.message_from_bytes(unix_line_endings(raw), policy=_POLICY)


def header_fields(message: Message) -> dict[str, str]:
    """Raw header fields by lower-case name (first occurrence wins), unfolded, encoded words decoded."""
    fields: dict[str, str] = {}
    for name, value in message.raw_items():
        key = name.strip().lower()
        if key in fields:
            continue
        text = " ".join(str(value).split())
        if "=?" in text:
            text = decode_words(text)
        fields[key] = text
    return fields


def recipient_field_groups(message: Message) -> list[dict[str, str]]:
    """Header fields of a delivery-status block, one group per recipient.

    Some MTAs write every recipient's fields in one block without the blank line between them: a
    repeated recipient field starts the next group.
    """
    groups: list[dict[str, str]] = [{}]
    for name, value in message.raw_items():
        key = name.strip().lower()
        if key in _RECIPIENT_FIELDS and key in groups[-1]:
            groups.append({})
        if key in groups[-1]:
            continue
        text = " ".join(str(value).split())
        groups[-1][key] = decode_words(text) if "=?" in text else text
    return [group for group in groups if group]


def decode_words(text: str) -> str:
    """RFC 2047 encoded words decoded, or the text unchanged if they are broken."""
    try:
        return str(make_header(decode_header(text)))
    except (MessageError, LookupError, ValueError, UnicodeError, TypeError, AssertionError):
        return text


def part_text(part: Message) -> str:
    """A leaf part's body as text, in its declared charset where Python knows it."""
    try:
        payload = part.get_payload(decode=True)
    except (MessageError, UnicodeError, ValueError):
        payload = None
    if not isinstance(payload, bytes):
        raw = _payload(part)
        return raw if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except (LookupError, ValueError):
        return payload.decode("latin-1")


def _payload(part: Message) -> Any:
    """The undecoded payload (a string, or a list of parts), or None where the email package fails on it."""
    try:
        return part.get_payload()
    except (MessageError, UnicodeError, LookupError, ValueError):
        return None


def html_to_text(html: str) -> str:
    """Visible text of an HTML part, enough to read a bounce notice (linear: no backtracking regex)."""
    html = html[:_HTML_LIMIT]
    lowered = html.lower()
    kept: list[str] = []
    position = 0
    next_tag = {"<style": lowered.find("<style"), "<script": lowered.find("<script")}
    while True:
        for tag, at in next_tag.items():
            if 0 <= at < position:
                next_tag[tag] = lowered.find(tag, position)
        pending = [(at, tag) for tag, at in next_tag.items() if at >= 0]
        if not pending:
            kept.append(html[position:])
            break
        start, tag = min(pending)
        kept.append(html[position:start])
        end = lowered.find("</" + tag[1:], start)
        position = len(html) if end < 0 else (lowered.find(">", end) + 1 or len(html))
        if position >= len(html):
            break
    text = _TAG.sub(" ", "".join(kept))
    return _ENTITY.sub(lambda m: _ENTITIES[m[0]], text)


def fields_from_text(text: str) -> list[dict[str, str]]:
    """Header-style blocks separated by blank lines (a delivery-status body written as plain text)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
                current, last = {}, ""
            continue
        if line[0] in " \t" and last:
            current[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep and name and " " not in name.strip():
            last = name.strip().lower()
            current.setdefault(last, value.strip())
    if current:
        blocks.append(current)
    return blocks


def dissect(raw: bytes) -> Anatomy:
    """Walk the MIME tree once and sort its parts."""
    message = read_email(raw)
    anatomy = Anatomy(headers=header_fields(message))
    content_type = _content_type(message)
    if content_type == "multipart/report":
        anatomy.report_type = str(message.get_param("report-type") or "").lower()
    notices: list[str] = []
    htmls: list[str] = []
    budget = [_MAX_PARTS]
    _visit(message, anatomy, notices, htmls, 0, budget)
    anatomy.notice = "\n".join(notices) if notices else "\n".join(html_to_text(h) for h in htmls)
    return anatomy


def _visit(
    part: Message, anatomy: Anatomy, notices: list[str], htmls: list[str], depth: int, budget: list[int]
) -> None:
    budget[0] -= 1
    if depth > _MAX_DEPTH or budget[0] < 0:
        return
    content_type = _content_type(part)
    maintype = content_type.partition("/")[0]
    if maintype == "multipart":
        payload = _payload(part)
        if isinstance(payload, list) and payload:
            for child in payload:
                if isinstance(child, Message):
                    _visit(child, anatomy, notices, htmls, depth + 1, budget)
        elif isinstance(payload, str):
            notices.append(payload)
        return
    if content_type in ("message/delivery-status", "message/global-delivery-status"):
        anatomy.status_blocks.extend(_status_blocks(part))
        return
    if content_type == "message/feedback-report":
        blocks = _status_blocks(part)
        anatomy.feedback = blocks[0] if blocks else {}
        return
    if maintype == "message":
        inner = _payload(part)
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            anatomy.original_headers.append(header_fields(inner[0]))
            anatomy.original_text += _leaf_text(inner[0])
        elif isinstance(inner, str):
            anatomy.original_text += inner
        return
    if content_type in ("text/rfc822-headers", "text/global-headers"):
        text = part_text(part)
        anatomy.original_headers.extend(fields_from_text(text)[:1])
        anatomy.original_text += text
        return
    if part.get_content_disposition() == "attachment" and depth > 0 and maintype != "text":
        return
    if content_type == "text/plain" or (maintype == "text" and content_type != "text/html" and depth == 0):
        notices.append(part_text(part))
    elif content_type == "text/html":
        htmls.append(part_text(part))


def _content_type(part: Message) -> str:
    """The part's type, tolerant of a missing ``;`` before parameters (``text/plain charset=...``)."""
    found = _TYPE.match(part.get_content_type())
    return found[0] if found else "text/plain"


def _leaf_text(message: Message) -> str:
    """Body text of an attached original message (only its first text part matters)."""
    for part in message.walk():
        if part.get_content_maintype() == "text":
            return part_text(part)
    return ""


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """Field blocks of a delivery-status or feedback-report part, however the parser stored them."""
    payload = _payload(part)
    if isinstance(payload, str):
        return fields_from_text(payload)
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):
        for block in payload:
            if not isinstance(block, Message):
                continue
            blocks.extend(recipient_field_groups(block))
            rest = _payload(block)
            if isinstance(rest, str) and ":" in rest:
                blocks.extend(fields_from_text(rest))
    return blocks
