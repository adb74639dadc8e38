"""Read an employer domain's reveals and hard bounces around a moment; emit a spike once per period."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.domain.spike import (
    EmployerWindow,
    HardBounce,
    RevealSeen,
    count_window,
    spikes_touched_by,
)
from refund_service.models import RefundBounce, RefundEmployerSpike, RefundReveal
from refund_service.refunds import SOURCE
from seevee_shared.bus import outbox_add
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import utcnow
from seevee_shared.events import EmployerBounceSpike


@dataclass(frozen=True)
class SpikeRules:
    window_days: int
    min_contacts: int
    min_rate: float


async def _employer_history(
    session: AsyncSession, workspace_id: str, employer_domain: str, after: datetime, until: datetime
) -> tuple[list[HardBounce], list[RevealSeen]]:
    """The domain's matched hard bounces and its reveals with times in (after, until]."""
    bounces = (
        await session.exec(
            select(RefundBounce).where(
                RefundBounce.workspace_id == workspace_id,
                RefundBounce.employer_domain == employer_domain,
                RefundBounce.category == "mailbox_unknown",
                col(RefundBounce.reveal_id).is_not(None),
                RefundBounce.bounced_at > after,
                RefundBounce.bounced_at <= until,
            )
        )
    ).all()
    reveals = (
        await session.exec(
            select(RefundReveal.reveal_id, RefundReveal.revealed_at).where(
                RefundReveal.workspace_id == workspace_id,
                RefundReveal.employer_domain == employer_domain,
                RefundReveal.revealed_at > after,
                RefundReveal.revealed_at <= until,
            )
        )
    ).all()
    return (
        [HardBounce(b.bounce_id, b.reveal_id or "", b.contact_id, b.bounced_at) for b in bounces],
        [RevealSeen(reveal_id, revealed_at) for reveal_id, revealed_at in reveals],
    )


async def employer_window(
    session: AsyncSession, workspace_id: str, employer_domain: str, end: datetime, window_days: int
) -> EmployerWindow:
    """The counts of the window_days up to ``end``."""
    after = end - timedelta(days=window_days)
    bounces, reveals = await _employer_history(session, workspace_id, employer_domain, after, end)
    return count_window(bounces, reveals, end, window_days)


async def flag_employer_if_spiking(
    session: AsyncSession, workspace_id: str, employer_domain: str, at: datetime, rules: SpikeRules
) -> None:
    """Emit ``employer.bounce_spike`` for each period whose window a hard bounce at ``at`` makes spike."""
    span = timedelta(days=rules.window_days)
    bounces, reveals = await _employer_history(session, workspace_id, employer_domain, at - span, at + span)
    spikes = spikes_touched_by(bounces, reveals, at, rules.window_days, rules.min_contacts, rules.min_rate)
    for period_start, window in spikes.items():
        already = (
            await session.exec(
                select(RefundEmployerSpike.id).where(
                    RefundEmployerSpike.workspace_id == workspace_id,
                    RefundEmployerSpike.employer_domain == employer_domain,
                    RefundEmployerSpike.period_start == period_start,
                )
            )
        ).first()
        if already is None:
            _emit(session, workspace_id, employer_domain, period_start, window, rules.window_days)


def _emit(
    session: AsyncSession,
    workspace_id: str,
    employer_domain: str,
    period_start: datetime,
    window: EmployerWindow,
    window_days: int,
) -> None:
    detected_at = utcnow()
    session.add(
        RefundEmployerSpike(
            workspace_id=workspace_id,
            employer_domain=employer_domain,
            period_start=period_start,
            detected_at=detected_at,
            hard_bounces=window.hard_bounces,
            distinct_contacts=window.distinct_contacts,
            reveals=window.reveals,
            rate=window.rate,
        )
    )
    spike = EmployerBounceSpike(
        employer_domain=employer_domain,
        window_days=window_days,
        hard_bounces=window.hard_bounces,
        distinct_contacts=window.distinct_contacts,
        reveals=window.reveals,
        rate=round(window.rate, 4),
        detected_at=detected_at,
    )
    # No contact owns a spike: the employer domain is its subject and key, keeping its spikes in order.
    outbox_add(
        session, CloudEvent.build(spike, source=SOURCE, workspace_id=workspace_id, subject=employer_domain)
    )


async def latest_spike(
    session: AsyncSession, workspace_id: str, employer_domain: str
) -> RefundEmployerSpike | None:
    return (
        await session.exec(
            select(RefundEmployerSpike)
            .where(
                RefundEmployerSpike.workspace_id == workspace_id,
                RefundEmployerSpike.employer_domain == employer_domain,
            )
            .order_by(col(RefundEmployerSpike.period_start).desc())
        )
    ).first()
