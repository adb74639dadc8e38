"""Count an employer domain's reveals and hard bounces around a moment; emit a spike once per period."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, distinct, exists, func, union
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.domain.spike import (
    EmployerWindow,
    is_spike,
    periods_touched_by,
    spike_period_start,
    window_ends,
    window_start,
)
from refund_service.models import RefundBounce, RefundEmployerSpike, RefundReveal
from refund_service.refunds import SOURCE
from refund_service.store import flagged_periods
from seevee_shared.bus import outbox_add
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import utcnow
from seevee_shared.events import EmployerBounceSpike


@dataclass(frozen=True)
class SpikeRules:
    window_days: int
    min_contacts: int
    min_rate: float


def _hard_bounces_of(workspace_id: str, employer_domain: str) -> list[ColumnElement[bool]]:
    """The domain's matched hard bounces: what every window counts."""
    return [
        col(RefundBounce.workspace_id) == workspace_id,
        col(RefundBounce.employer_domain) == employer_domain,
        col(RefundBounce.category) == "mailbox_unknown",
        col(RefundBounce.reveal_id).is_not(None),
    ]


def _window_columns(
    workspace_id: str, employer_domain: str, end: datetime, window_days: int
) -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int], ColumnElement[int]]:
    """``domain.spike.count_window`` done by the store in one indexed query, not over loaded rows."""
    start = window_start(end, window_days)
    inside = [*_hard_bounces_of(workspace_id, employer_domain), col(RefundBounce.bounced_at) > start]
    inside.append(col(RefundBounce.bounced_at) <= end)
    bounced = (
        select(
            func.count(distinct(col(RefundBounce.bounce_id))).label("hard_bounces"),
            func.count(distinct(col(RefundBounce.reveal_id))).label("hard_bounced_reveals"),
            func.count(distinct(col(RefundBounce.contact_id))).label("distinct_contacts"),
        )
        .where(*inside)
        .subquery("bounced")
    )
    revealed = select(col(RefundReveal.reveal_id)).where(
        col(RefundReveal.workspace_id) == workspace_id,
        col(RefundReveal.employer_domain) == employer_domain,
        col(RefundReveal.revealed_at) > start,
        col(RefundReveal.revealed_at) <= end,
    )
    reveal_ids = union(select(col(RefundBounce.reveal_id)).where(*inside), revealed).subquery("reveal_ids")
    reveals = select(func.count()).select_from(reveal_ids).scalar_subquery()
    return bounced.c.hard_bounces, bounced.c.hard_bounced_reveals, bounced.c.distinct_contacts, reveals


async def employer_window(
    session: AsyncSession, workspace_id: str, employer_domain: str, end: datetime, window_days: int
) -> EmployerWindow:
    """The counts of the window_days up to ``end``."""
    hard_bounces, hard_bounced_reveals, distinct_contacts, reveals = _window_columns(
        workspace_id, employer_domain, end, window_days
    )
    row = (await session.exec(select(hard_bounces, hard_bounced_reveals, distinct_contacts, reveals))).one()
    return EmployerWindow(
        hard_bounces=row[0], hard_bounced_reveals=row[1], distinct_contacts=row[2], reveals=row[3]
    )


@dataclass(frozen=True)
class _FirstLook:
    """What one cheap query tells of a hard bounce at ``at``: the periods it can touch that are flagged
    already, and whether a later hard bounce makes more windows than its own to check."""

    flagged: set[datetime]
    later_bounces: bool


async def _first_look(
    session: AsyncSession, workspace_id: str, employer_domain: str, at: datetime, window_days: int
) -> _FirstLook:
    this_period, next_period = periods_touched_by(at, window_days)
    of_employer = (
        col(RefundEmployerSpike.workspace_id) == workspace_id,
        col(RefundEmployerSpike.employer_domain) == employer_domain,
    )
    later = exists().where(
        *_hard_bounces_of(workspace_id, employer_domain),
        col(RefundBounce.bounced_at) > at,
        col(RefundBounce.bounced_at) < at + timedelta(days=window_days),
    )
    query = select(
        exists().where(*of_employer, col(RefundEmployerSpike.period_start) == this_period),
        exists().where(*of_employer, col(RefundEmployerSpike.period_start) == next_period),
        later,
    )
    this_flagged, next_flagged, later_bounces = (await session.exec(query)).one()
    flagged = {period for period, seen in ((this_period, this_flagged), (next_period, next_flagged)) if seen}
    return _FirstLook(flagged, bool(later_bounces))


async def _later_window_ends(
    session: AsyncSession, workspace_id: str, employer_domain: str, at: datetime, window_days: int
) -> list[datetime]:
    later = (
        await session.exec(
            select(RefundBounce.bounced_at)
            .distinct()
            .where(
                *_hard_bounces_of(workspace_id, employer_domain),
                col(RefundBounce.bounced_at) >= at,
                col(RefundBounce.bounced_at) < at + timedelta(days=window_days),
            )
        )
    ).all()
    return window_ends(at, later, window_days)


async def flag_employer_if_spiking(
    session: AsyncSession, workspace_id: str, employer_domain: str, at: datetime, rules: SpikeRules
) -> None:
    """Emit ``employer.bounce_spike`` for each period whose window a hard bounce at ``at`` makes spike.

    As ``domain.spike.spikes_touched_by``, counted by the store window by window. Periods already
    flagged are skipped uncounted (their windows could add nothing), so an employer's history costs
    nothing once flagged; a bounce that arrives in order (no later one yet) has only its own window.
    """
    days = rules.window_days
    known = flagged_periods(session, workspace_id, employer_domain)
    if known is not None and known.issuperset(periods_touched_by(at, days)):
        return  # flagged earlier in the poll: nothing to count, nor to flush for it
    await session.flush()  # the windows count what the poll left pending too
    first = await _first_look(session, workspace_id, employer_domain, at, days)
    flagged = first.flagged
    if known is not None:
        known.update(flagged)
    if len(flagged) == 2:
        return  # every window it falls in ends in a period flagged already
    ends = (
        await _later_window_ends(session, workspace_id, employer_domain, at, days)
        if first.later_bounces
        else [at]
    )
    for end in ends:
        period_start = spike_period_start(end, days)
        if period_start in flagged:
            continue
        window = await employer_window(session, workspace_id, employer_domain, end, days)
        if is_spike(window, rules.min_contacts, rules.min_rate):
            flagged.add(period_start)
            if known is not None:
                known.add(period_start)
            _emit(session, workspace_id, employer_domain, period_start, window, days)


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
