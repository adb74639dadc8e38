"""The bound of every field a provider or a bounce email puts into an event (pure).

One oversized field must never make an event unpublishable (the producer refuses records over 1 MiB,
and a relay publishing in order would hold everything behind it). Text that only describes a bounce
is truncated with a marker; an id or an address cannot be truncated without becoming another one, so
a record carrying an over-long or control-character id is refused (a 4xx: a retry never helps).
"""

import dataclasses
from typing import Any

from bounce_ingest.records import ParsedRequest, ProviderRecord

TRUNCATED = " …[truncated]"
"""Ends every truncated value, so a reader knows the text went on."""

TEXT_BOUNDS: dict[str, int] = {
    "diagnostic": 2000,
    "remote_mta": 255,
    "smtp_status": 32,
    "reason": 64,
    "feedback_type": 64,
}
"""Characters kept of the descriptive fields (the marker included)."""

ID_BOUNDS: dict[str, int] = {
    "provider_event_id": 998,
    "recipient": 320,
    "seevee_message_id": 200,
    "provider_message_id": 998,
    "smtp_message_id": 998,
}
"""Characters allowed in identifying fields: 998 is RFC 5322's line limit (a Message-ID is one header
line), 320 an address (64 + @ + 255), 200 our own ids. Longer: the record is refused."""


class FieldOutOfBounds(ValueError):
    """A record carries an id that no provider sends: the whole request is refused."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the cut marked."""
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATED)].rstrip() + TRUNCATED


def _check_id(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise FieldOutOfBounds(f"{name} is longer than {limit} characters")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise FieldOutOfBounds(f"{name} holds a control character")


def bounded(record: ProviderRecord) -> ProviderRecord:
    """The record with its descriptive text truncated; ``FieldOutOfBounds`` for an id out of bounds."""
    for name, limit in ID_BOUNDS.items():
        value = getattr(record, name)
        if value is not None:
            _check_id(name, value, limit)
    changes: dict[str, Any] = {
        name: truncate(value, limit)
        for name, limit in TEXT_BOUNDS.items()
        if (value := getattr(record, name)) is not None and len(value) > limit
    }
    return dataclasses.replace(record, **changes) if changes else record


def bounded_request(parsed: ParsedRequest) -> ParsedRequest:
    """Every record of a delivery within its bounds (or ``FieldOutOfBounds`` for the delivery)."""
    return ParsedRequest(records=[bounded(record) for record in parsed.records], ignored=parsed.ignored)
