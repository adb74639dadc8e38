"""The one place bounce-ingest's reactions to Kafka topics are registered."""

from bounce_ingest.on_message_sent import on_message_sent
from seevee_shared.bus import Handler
from seevee_shared.events import Topic

HANDLERS: dict[str, Handler] = {Topic.MESSAGE_SENT: on_message_sent}
