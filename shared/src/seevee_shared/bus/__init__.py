"""Kafka plumbing: outbox on the publishing side, inbox + retry + dead-letter on the consuming side."""

from seevee_shared.bus.consumer import EventConsumer
from seevee_shared.bus.errors import PermanentError
from seevee_shared.bus.outbox import OutboxRelay
from seevee_shared.bus.seam import Event, EventMeta, Handlers, Reaction, apply_poll, of_type, on
from seevee_shared.bus.tables import InboxRecord, OutboxRecord

__all__ = [
    "Event",
    "EventConsumer",
    "EventMeta",
    "Handlers",
    "InboxRecord",
    "OutboxRecord",
    "OutboxRelay",
    "PermanentError",
    "Reaction",
    "apply_poll",
    "of_type",
    "on",
]
