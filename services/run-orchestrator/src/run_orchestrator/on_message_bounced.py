"""When a run's message bounces, pause the run on that step; a dead mailbox also pauses its sibling runs."""

from sqlmodel.ext.asyncio.session import AsyncSession

from run_orchestrator.domain import Bounce, apply_bounce, pause_sibling
from run_orchestrator.models import RunBounceRecord
from run_orchestrator.store import count_bounce, counted_bounce, load_run, runs_to_recipient, save
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import utcnow
from seevee_shared.events import MessageBounced
from seevee_shared.logging import get_logger

log = get_logger(__name__)


async def on_message_bounced(
    session: AsyncSession, event: CloudEvent, *, max_bounces: int, auto_restart_hours: float | None
) -> None:
    """Bounces of messages that are not one of our runs' steps (other systems' sends) are ignored."""
    bounced = event.data_as(MessageBounced)
    if bounced.run_id is None or bounced.run_step is None:
        return
    stored = await load_run(session, event.workspaceid, bounced.run_id)
    if stored is None:
        log.info("bounce for a run we do not know", run_id=bounced.run_id, event_id=event.id)
        return
    if await counted_bounce(session, bounced.run_id, bounced.bounce_id) is not None:
        return
    count_bounce(
        session,
        RunBounceRecord(
            run_id=bounced.run_id,
            bounce_id=bounced.bounce_id,
            step=bounced.run_step,
            category=bounced.category,
            reason=bounced.reason,
            bounced_at=bounced.bounced_at,
        ),
    )
    now = utcnow()
    bounce = Bounce(bounced.bounce_id, bounced.run_step, bounced.category, bounced.reason, bounced.bounced_at)
    outcome = apply_bounce(
        stored.domain(), bounce, max_bounces=max_bounces, auto_restart_hours=auto_restart_hours, now=now
    )
    save(session, stored, outcome, now)
    if bounced.category != "mailbox_unknown":
        return
    for sibling in await runs_to_recipient(session, event.workspaceid, stored.record.recipient, ["active"]):
        if sibling.record.run_id != stored.record.run_id:
            save(session, sibling, pause_sibling(sibling.domain(), bounce, now), now)
