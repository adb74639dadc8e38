"""structlog JSON logs; email addresses never reach a log line in clear."""

import logging
import re
import sys
from collections.abc import MutableMapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

import structlog

_EMAIL = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")


def mask_email(text: str) -> str:
    """``jane.doe@acme.com`` becomes ``j***@acme.com``, wherever it stands in the text."""
    return _EMAIL.sub(r"\1***@\2", text)


def _mask_values(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str) and "@" in value:
            event_dict[key] = mask_email(value)
    return event_dict


def configure_logging(service: str, level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    structlog.configure(
        processors=[
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


def event_log_context(event: _Identified) -> AbstractContextManager[None]:
    """Every line logged while an event is handled carries its id, its contact and its trace."""
    return structlog.contextvars.bound_contextvars(
        event_id=event.id, event_type=event.type, contact_id=event.subject, trace_id=event.id
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
