"""Which failures are worth retrying and which can never succeed."""

import asyncio

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from pydantic import ValidationError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

from seevee_shared.cloudevents import InvalidEvent


class PermanentError(Exception):
    """Raised by a handler for a record that can never be applied: it is dead-lettered at once."""


TRANSIENT = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    ConnectionError,
    asyncio.TimeoutError,
    KafkaConnectionError,
    KafkaTimeoutError,
)
PERMANENT = (PermanentError, InvalidEvent, ValidationError)


def is_transient(exc: BaseException) -> bool:
    """The store or the broker is away: retry the same records, never skip them."""
    return isinstance(exc, TRANSIENT)
