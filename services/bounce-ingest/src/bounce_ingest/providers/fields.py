"""Reading provider JSON defensively: a missing or mistyped field is a ``BadPayload``, never a crash."""

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bounce_ingest.providers.base import BadPayload
from bounce_ingest.records import ParsedRequest, ProviderRecord
from bounce_ingest.untrusted_json import NotJson, parse_json

JsonObject = Mapping[str, Any]

_SMTP_REPLY = re.compile(r"(?<![\d.])([245]\d\d)(?:[ -]|$)")
_ENHANCED_STATUS = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.]*\d)")


def load_json(body: bytes) -> Any:
    try:
        return parse_json(body)
    except NotJson as error:
        raise BadPayload("the body is not JSON") from error


def as_object(value: Any, where: str) -> JsonObject:
    if not isinstance(value, Mapping):
        raise BadPayload(f"{where} is not a JSON object")
    return value


def object_list(value: Any, where: str) -> list[JsonObject]:
    """A JSON array of objects, or one object standing alone (providers that batch only optionally)."""
    items = value if isinstance(value, list) else [value]
    return [as_object(item, f"{where}[{index}]") for index, item in enumerate(items)]


def optional_object(data: JsonObject, key: str) -> JsonObject:
    value = data.get(key)
    if value is None:
        return {}
    return as_object(value, key)


def text(data: JsonObject, key: str) -> str | None:
    """A string or number field as text; empty strings count as absent."""
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str):
        raise BadPayload(f"{key} is not a string")
    return value.strip() or None


def required_text(data: JsonObject, key: str) -> str:
    value = text(data, key)
    if value is None:
        raise BadPayload(f"{key} is missing")
    return value


def flag(data: JsonObject, key: str) -> bool:
    value = data.get(key)
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if isinstance(value, bool | int) else False


def epoch(value: Any, where: str, *, milliseconds: bool = False) -> datetime:
    """Unix seconds (or milliseconds) as a number or a numeric string."""
    try:
        seconds = float(value)
        if milliseconds:
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError) as error:
        raise BadPayload(f"{where} is not a unix time") from error


def iso_time(value: Any, where: str) -> datetime:
    """ISO 8601 with any number of fractional digits (Postmark sends seven); naive means UTC."""
    if not isinstance(value, str):
        raise BadPayload(f"{where} is not a time")
    cleaned = re.sub(r"(\.\d{6})\d+", r"\1", value.strip().replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError as error:
        raise BadPayload(f"{where} is not a time") from error
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def smtp_code(value: Any) -> int | None:
    """An SMTP reply code given as a number or string; anything outside 200-599 is not one."""
    try:
        code = int(str(value).strip()) if value is not None and not isinstance(value, bool) else None
    except ValueError:
        return None
    return code if code is not None and 200 <= code <= 599 else None


def reply_code(diagnostic: str | None) -> int | None:
    """The first SMTP reply code in a diagnostic such as ``smtp;550 5.1.1 ...``."""
    if not diagnostic:
        return None
    match = _SMTP_REPLY.search(diagnostic.removeprefix("smtp;").removeprefix("smtp; "))
    return int(match.group(1)) if match else None


def enhanced_status(diagnostic: str | None) -> str | None:
    """The first RFC 3463 enhanced status code in a diagnostic, e.g. ``5.1.1``."""
    if not diagnostic:
        return None
    match = _ENHANCED_STATUS.search(diagnostic)
    return match.group(1) if match else None


def texts(data: JsonObject, key: str) -> list[str]:
    """A field documented as a string or an array of strings (Resend's ``diagnosticCode``), as a list."""
    value = data.get(key)
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if isinstance(item, str) and item.strip():
            found.append(item.strip())
        elif isinstance(item, int | float) and not isinstance(item, bool):
            found.append(str(item))
    return found


def joined_text(data: JsonObject, key: str) -> str | None:
    """A string-or-array field as one text: several SMTP responses, one per line."""
    return "\n".join(texts(data, key)) or None


def event_name(event: JsonObject) -> str:
    return required_text(event, "event")


Outcome = ProviderRecord | Sequence[ProviderRecord] | str | None
"""What a provider makes of one event: its record(s), or None / the key under which it is only counted."""
UNREADABLE = "unreadable"


def gather(
    events: Iterable[Any],
    to_record: Callable[[str, JsonObject], Outcome],
    kind_of: Callable[[JsonObject], str] = event_name,
) -> ParsedRequest:
    """A batch taken whole: the bounces and complaints as records, every other event only counted.

    One event the provider's docs would not produce (no recipient, not an object) never costs the rest
    of the batch, which a refusal would (the provider retries the whole batch, then drops it): it is
    counted as ``<type>/unreadable``. Only a batch with no readable event at all is a bad payload.
    """
    records: list[ProviderRecord] = []
    ignored: Counter[str] = Counter()
    first_error: BadPayload | None = None
    readable = 0
    for event in events:
        kind = UNREADABLE
        try:
            kind = kind_of(as_object(event, "event"))
            outcome = to_record(kind, event)
        except BadPayload as error:
            first_error = first_error or error
            ignored[kind if kind == UNREADABLE else f"{kind}/{UNREADABLE}"] += 1
            continue
        readable += 1
        if outcome is None or isinstance(outcome, str):
            ignored[outcome or kind] += 1
        elif isinstance(outcome, ProviderRecord):
            records.append(outcome)
        else:
            records.extend(outcome)
    if first_error is not None and readable == 0:
        raise first_error
    return ParsedRequest(records=records, ignored=dict(ignored))
