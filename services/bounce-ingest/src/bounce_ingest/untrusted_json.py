"""JSON from outside (webhook bodies, JSON inside provider fields, SES notifications in emails), read here.

Whatever its depth, size or encoding, a text is either a value or ``NotJson``: a 100,000-deep array
ends in ``RecursionError`` inside the decoder, which no caller should have to know about.
"""

import json
from typing import Any


class NotJson(ValueError):
    """The text is not JSON we can read."""


def parse_json(data: str | bytes) -> Any:
    """The JSON value of ``data`` (bytes must be UTF-8), or ``NotJson``."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError, MemoryError) as error:
        raise NotJson(type(error).__name__) from None
