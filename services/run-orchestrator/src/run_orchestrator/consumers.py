"""The one place the run-orchestrator's reactions to events are registered."""

from functools import partial

from run_orchestrator.on_message_bounced import on_message_bounced
from run_orchestrator.on_message_complained import on_message_complained
from run_orchestrator.on_message_sent import on_message_sent
from run_orchestrator.settings import RunSettings
from run_orchestrator.store import prefetch_bounced
from seevee_shared.bus import Handler
from seevee_shared.bus.consumer import PrefetchingHandler
from seevee_shared.events import Topic


def handlers(settings: RunSettings) -> dict[str, Handler]:
    """Topic → handler; the bounce policy comes from the settings; a poll's bounces load their runs first."""
    return {
        Topic.MESSAGE_SENT: on_message_sent,
        Topic.MESSAGE_BOUNCED: PrefetchingHandler(
            partial(
                on_message_bounced,
                max_bounces=settings.run_max_bounces,
                auto_restart_hours=settings.soft_bounce_auto_restart_hours,
            ),
            prefetch_bounced,
        ),
        Topic.MESSAGE_COMPLAINED: on_message_complained,
    }
