"""What the thread-service publishes, and as whom."""

import uuid

from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ThreadMessageLabeled
from seevee_shared.ids import name_id
from thread_service import domain

SOURCE = "/seevee/thread-service"
_LABEL_EVENT_NAMESPACE = uuid.UUID("3c1e9a52-8f0d-5b7a-a4c6-0d2f7e9b1a63")


def message_labeled(
    message: domain.Message, label: str, *, category: str | None, reason: str | None
) -> CloudEvent:
    """`thread.message_labeled`, once per (message, label): its id is derived from them."""
    labeled = ThreadMessageLabeled.model_validate(
        {
            "thread_id": message.thread_id,
            "message_id": message.message_id,
            "label": label,
            "category": category,
            "reason": reason,
        }
    )
    return CloudEvent.build(
        labeled,
        source=SOURCE,
        workspace_id=message.workspace_id,
        subject=message.contact_id,
        event_id=name_id(
            _LABEL_EVENT_NAMESPACE, f"{message.workspace_id}\x1f{message.message_id}\x1f{label}"
        ),
    )
