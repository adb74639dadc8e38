"""When a run's message bounces, pause the run on that step; a dead mailbox also pauses its sibling runs."""

from __future__ import annotations

from run_orchestrator import domain
from run_orchestrator.store import RunStore
from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.events import BounceCategory, MessageBounced
from seevee_shared.logging import get_logger

log = get_logger(__name__)


async def on_message_bounced(
    bounced: MessageBounced,
    meta: EventMeta,
    store: RunStore,
    *,
    max_bounces: int,
    auto_restart_hours: float | None,
) -> None:
    """Bounces of messages that are not one of our runs' steps (other systems' sends) are ignored."""
    if bounced.run_id is None or bounced.run_step is None:
        return
    stored = await store.run(meta.workspace_id, bounced.run_id)
    if stored is None:
        log.info("bounce for a run we do not know", run_id=bounced.run_id)
        return
    if await store.counted(bounced.run_id, bounced.bounce_id) is not None:
        return
    store.count(
        domain.RunBounceRow(
            run_id=bounced.run_id,
            bounce_id=bounced.bounce_id,
            step=bounced.run_step,
            category=bounced.category,
            reason=bounced.reason,
            bounced_at=bounced.bounced_at,
        )
    )
    now = utcnow()
    bounce = domain.Bounce(
        bounced.bounce_id, bounced.run_step, bounced.category, bounced.reason, bounced.bounced_at
    )
    outcome = domain.apply_bounce(
        stored.domain(), bounce, max_bounces=max_bounces, auto_restart_hours=auto_restart_hours, now=now
    )
    store.save(stored, outcome, now, meta.id)
    if bounced.category != BounceCategory.MAILBOX_UNKNOWN:
        return
    for sibling in await store.runs_to(meta.workspace_id, stored.record.recipient, ["active"]):
        if sibling.record.run_id != stored.record.run_id:
            store.save(sibling, domain.pause_sibling(sibling.domain(), bounce, now), now, meta.id)
