"""The one place bounce-ingest registers what it consumes: topic -> payload model -> handler."""

from __future__ import annotations

from bounce_ingest.on_message_sent import on_message_sent
from bounce_ingest.settings import IngestSettings
from bounce_ingest.store import IngestStore
from seevee_shared.bus import Handlers, on
from seevee_shared.events import MessageSent, Topic


def handlers(settings: IngestSettings | None = None) -> Handlers[IngestStore]:
    return Handlers(store=IngestStore, topics={Topic.MESSAGE_SENT: on(MessageSent, on_message_sent)})
