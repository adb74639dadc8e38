"""Which failures are worth retrying and which can never succeed."""

from aiokafka.errors import (
    AuthenticationFailedError,
    ClusterAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    ProducerClosed,
    TopicAuthorizationFailedError,
)
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from seevee_shared.cloudevents import InvalidEvent


class PermanentError(Exception):
    """Raised by a handler for a record that can never be applied: it is dead-lettered at once."""


TRANSIENT = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    ConnectionError,
    TimeoutError,
    KafkaConnectionError,
    KafkaTimeoutError,
)
PERMANENT = (PermanentError, InvalidEvent, ValidationError)


# PostgreSQL deadlock and serialization failure: the same work succeeds when tried again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(exc: BaseException) -> bool:
    """The store or the broker is away, or lost a race: retry the same records, never skip them."""
    if isinstance(exc, TRANSIENT):
        return True
    if isinstance(exc, DBAPIError):
        original = exc.orig
        state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
        return state in RETRYABLE_SQLSTATES
    return False


# Refusals that concern the client or its rights, not one record: every row would fail alike, so the
# relay retries them (an operator fixes the setting) rather than dead-letter the whole outbox.
_NOT_ABOUT_THE_RECORD = (
    AuthenticationFailedError,
    ClusterAuthorizationFailedError,
    TopicAuthorizationFailedError,
    ProducerClosed,
)


def is_unsendable(exc: BaseException) -> bool:
    """The producer refused this record for good (too large, invalid): sending it again cannot help."""
    if is_transient(exc) or isinstance(exc, _NOT_ABOUT_THE_RECORD):
        return False
    return isinstance(exc, KafkaError) and not exc.retriable
