"""Our message id as providers echo it back: a ``seevee_message_id`` key, tag or header set at send.

Tags are plain strings at most providers, so the tag form is ``seevee_message_id:<id>``.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from bounce_ingest.untrusted_json import NotJson, parse_json

MESSAGE_ID_KEY = "seevee_message_id"
MESSAGE_ID_HEADER = "x-seevee-message-id"
_TAG_PREFIX = MESSAGE_ID_KEY + ":"


def _clean(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    cleaned = str(value).strip()
    return cleaned or None


def from_mapping(data: Any) -> str | None:
    """The key in a metadata / custom-args mapping, or in a JSON object serialized into a string."""
    if isinstance(data, str):
        try:
            data = parse_json(data)
        except NotJson:
            return None
    if not isinstance(data, Mapping):
        return None
    return _clean(data.get(MESSAGE_ID_KEY))


def from_tags(tags: Any) -> str | None:
    """A ``seevee_message_id:<id>`` string tag, or a ``{"name": ..., "value": ...}`` tag (Resend, SES)."""
    if isinstance(tags, str):
        tags = [tags]
    if isinstance(tags, Mapping):
        return _tag_value(tags.get(MESSAGE_ID_KEY))
    if not isinstance(tags, list):
        return None
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(_TAG_PREFIX):
            found = _clean(tag.removeprefix(_TAG_PREFIX))
        elif isinstance(tag, Mapping) and tag.get("name") == MESSAGE_ID_KEY:
            found = _tag_value(tag.get("value"))
        else:
            found = None
        if found is not None:
            return found
    return None


def _tag_value(value: Any) -> str | None:
    """SES message tags hold a list of values per name; others a single value."""
    if isinstance(value, list):
        return _clean(value[0]) if value else None
    return _clean(value)


def from_headers(headers: Any) -> str | None:
    """``X-SeeVee-Message-Id`` from a header mapping or a list of ``{"name", "value"}`` pairs."""
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(headers, Mapping):
        pairs = headers.items()
    elif isinstance(headers, list):
        pairs = ((item.get("name"), item.get("value")) for item in headers if isinstance(item, Mapping))
    else:
        return None
    for name, value in pairs:
        if isinstance(name, str) and name.strip().lower() == MESSAGE_ID_HEADER:
            return _clean(value)
    return None


def first(*candidates: str | None) -> str | None:
    return next((candidate for candidate in candidates if candidate), None)
