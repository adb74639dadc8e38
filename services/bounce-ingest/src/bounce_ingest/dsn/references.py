"""The ids that tie a bounce email back to the message we sent: its Message-ID and our own header."""

import re

from bounce_ingest.dsn.anatomy import Anatomy, unix_line_endings

_MESSAGE_ID = re.compile(
    r"^[ \t>]*message-id:[ \t]*\n?[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE
)
_SEEVEE_ID = re.compile(
    r"^[ \t>]*x-seevee-message-id:[ \t]*<?([^<>\s]{1,250}?)>?[ \t]*$", re.IGNORECASE | re.MULTILINE
)
_BRACKETED = re.compile(r"<[^<>\s]{1,250}>")


def original_message_id(anatomy: Anatomy, quoted: str) -> str | None:
    """Message-ID of the returned original: attached headers first, then a quoted header block."""
    for headers in anatomy.original_headers:
        value = headers.get("message-id")
        if value:
            found = _BRACKETED.search(value)
            if found:
                return found[0]
    for text in (anatomy.original_text, quoted):
        found = _MESSAGE_ID.search(text)
        if found:
            return found[1]
    return None


def seevee_message_id(anatomy: Anatomy, raw: bytes) -> str | None:
    """Our ``X-SeeVee-Message-Id``, wherever the returned headers (or the notice itself) carry it."""
    for headers in (anatomy.headers, *anatomy.original_headers):
        value = headers.get("x-seevee-message-id")
        if value:
            return value.strip().strip("<>") or None
    # A plain substring test first: the line-anchored search over the whole email is the slow part.
    if b"x-seevee-message-id" not in raw.lower():
        return None
    found = _SEEVEE_ID.search(unix_line_endings(raw).decode("latin-1"))
    return found[1] if found else None
