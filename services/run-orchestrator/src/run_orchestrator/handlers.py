"""The one place the run-orchestrator registers what it consumes: topic -> payload model -> handler."""

from __future__ import annotations

from functools import partial

from run_orchestrator.on_message_bounced import on_message_bounced
from run_orchestrator.on_message_complained import on_message_complained
from run_orchestrator.on_message_sent import on_message_sent
from run_orchestrator.settings import RunSettings
from run_orchestrator.store import RunStore
from seevee_shared.bus import Handlers, on
from seevee_shared.events import MessageBounced, MessageComplained, MessageSent, Topic


def handlers(settings: RunSettings | None = None) -> Handlers[RunStore]:
    """The bounce policy (how many bounces stop a run, the soft-bounce restart) comes from the settings."""
    settings = settings or RunSettings()
    bounced = partial(
        on_message_bounced,
        max_bounces=settings.run_max_bounces,
        auto_restart_hours=settings.soft_bounce_auto_restart_hours,
    )
    return Handlers(
        store=RunStore,
        topics={
            Topic.MESSAGE_SENT: on(MessageSent, on_message_sent),
            Topic.MESSAGE_BOUNCED: on(MessageBounced, bounced),
            Topic.MESSAGE_COMPLAINED: on(MessageComplained, on_message_complained),
        },
    )
