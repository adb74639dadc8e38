"""structlog JSON logs; email addresses never reach a log line in clear."""

import logging
import sys
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Protocol

import structlog

_LOCAL_STOP = frozenset(' \t\r\n\x0b\x0c<>()[],;:"@\\')
"""What ends an unquoted local part going left from an ``@`` (RFC 5322 atext, dots and RFC 6531 UTF-8
are all part of it)."""
_DOMAIN_STOP = frozenset(" \t\r\n\x0b\x0c<>()[],;:\"@\\/?#=&'`!*|{}^~$%+")
_MAX_DEPTH = 8


def mask_email(text: str) -> str:
    """``jane.doe@acme.com`` becomes ``j***@acme.com``, wherever it stands in the text.

    Quoted local parts (``"jane doe"@acme.com``), IDN and IP-literal domains (``jane@[192.0.2.1]``) and
    single-label ones (``root@localhost``) count too. Only a first ASCII letter or digit is kept: a
    local part with any non-ASCII character is masked whole (``***@acme.com``). One pass, no regex:
    linear in the text.
    """
    if "@" not in text:
        return text
    out: list[str] = []
    copied = 0  # text[:copied] is already in out
    local_start = 0  # where the unquoted local part before the next "@" would start
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char == '"':
            closing = text.find('"', position + 1)
            if closing > 0 and closing + 1 < length and text[closing + 1] == "@":
                end = _domain_end(text, closing + 2)
                if end > closing + 2:
                    out.append(text[copied:local_start])
                    out.append(_masked(text[local_start : closing + 1], text[closing + 1 : end]))
                    copied = position = local_start = end
                    continue
            local_start = position + 1
        elif char == "@":
            end = _domain_end(text, position + 1)
            if position > local_start and end > position + 1:
                out.append(text[copied:local_start])
                out.append(_masked(text[local_start:position], text[position:end]))
                copied = position = local_start = end
                continue
            local_start = position + 1
        elif char in _LOCAL_STOP:
            local_start = position + 1
        position += 1
    out.append(text[copied:])
    return "".join(out)


def _domain_end(text: str, start: int) -> int:
    """End of the domain starting at ``start`` (``start`` itself when there is none)."""
    if start < len(text) and text[start] == "[":
        closing = text.find("]", start + 1, start + 64)
        return closing + 1 if closing > start + 1 else start
    end = start
    while end < len(text) and text[end] not in _DOMAIN_STOP:
        end += 1
    while end > start and text[end - 1] in ".-_":
        end -= 1
    return end


def _masked(local: str, at_domain: str) -> str:
    first = local.lstrip('."')[:1]
    keep = first if local.isascii() and first.isalnum() else ""
    return f"{keep}***{at_domain}"


def _mask(value: Any, depth: int = 0) -> Any:
    """Strings masked wherever they sit: in lists, tuples, sets and dicts (keys too), to a depth."""
    if isinstance(value, str):
        return mask_email(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= _MAX_DEPTH:
        return mask_email(str(value))
    if isinstance(value, Mapping):
        return {_mask(key, depth + 1): _mask(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_mask(item, depth + 1) for item in value]
    return mask_email(str(value))


def _mask_values(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        event_dict[key] = _mask(value)
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    structlog.configure(
        processors=[
            _add_event,
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _mask_values,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


class _Identified(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def subject(self) -> str: ...


_EVENT: ContextVar["_Identified | None"] = ContextVar("seevee_log_event", default=None)
"""The event being handled; its fields are added only to lines actually written (most are filtered)."""


def _add_event(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Before the bound context: the event's ids win over a request's, a line's own fields over both."""
    event = _EVENT.get()
    if event is not None:
        event_dict.setdefault("event_id", event.id)
        event_dict.setdefault("event_type", event.type)
        event_dict.setdefault("contact_id", event.subject)
        event_dict.setdefault("trace_id", event.id)
    return event_dict


class event_log_context:  # noqa: N801  (used as a function: ``with event_log_context(meta):``)
    """Every line logged while an event is handled carries its id, its contact and its trace.

    One context variable set per event: the fields are read from the event when a line is written,
    not bound eagerly for the thousands of events of a poll that log nothing.
    """

    __slots__ = ("_event", "_token")

    def __init__(self, event: _Identified) -> None:
        self._event = event
        self._token: Token[_Identified | None] | None = None

    def __enter__(self) -> None:
        self._token = _EVENT.set(self._event)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._token is not None:
            _EVENT.reset(self._token)
            self._token = None


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
