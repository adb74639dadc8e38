"""When does an employer domain keep bouncing enough to flag it?

Bounces of different contacts arrive in any order, so a newly known hard bounce is checked against
every window it falls in: the windows ending at its own time and at each later hard bounce within
window_days of it. Windows ending in a period flagged already are never counted, so what a check reads
is bounded in time (``open_window_ends``, ``counted_span``), whatever the employer's history.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class HardBounce:
    bounce_id: str
    reveal_id: str
    contact_id: str
    bounced_at: datetime


@dataclass(frozen=True)
class RevealSeen:
    reveal_id: str
    revealed_at: datetime


@dataclass(frozen=True)
class EmployerWindow:
    """Counts for one employer domain over the window_days up to a moment.

    reveals counts the reveals revealed in the window plus those hard-bounced in it, so the rate
    (hard-bounced reveals / reveals) never exceeds 1.
    """

    hard_bounces: int
    hard_bounced_reveals: int
    distinct_contacts: int
    reveals: int

    @property
    def rate(self) -> float:
        return self.hard_bounced_reveals / self.reveals if self.reveals else 0.0


def is_spike(window: EmployerWindow, min_contacts: int, min_rate: float) -> bool:
    return window.distinct_contacts >= min_contacts and window.rate >= min_rate


def window_start(end: datetime, window_days: int) -> datetime:
    """Start (excluded) of the window that ends at ``end`` (included)."""
    return end - timedelta(days=window_days)


def count_window(
    bounces: Iterable[HardBounce], reveals: Iterable[RevealSeen], end: datetime, window_days: int
) -> EmployerWindow:
    start = window_start(end, window_days)
    inside = [bounce for bounce in bounces if start < bounce.bounced_at <= end]
    bounced_reveals = {bounce.reveal_id for bounce in inside}
    revealed = {reveal.reveal_id for reveal in reveals if start < reveal.revealed_at <= end}
    return EmployerWindow(
        hard_bounces=len({bounce.bounce_id for bounce in inside}),
        hard_bounced_reveals=len(bounced_reveals),
        distinct_contacts=len({bounce.contact_id for bounce in inside}),
        reveals=len(bounced_reveals | revealed),
    )


def spike_period_start(at: datetime, window_days: int) -> datetime:
    """The fixed window_days period (counted from the Unix epoch) holding ``at``: one spike each at most."""
    length = timedelta(days=window_days)
    return EPOCH + ((at - EPOCH) // length) * length


def window_ends(at: datetime, hard_bounce_times: Iterable[datetime], window_days: int) -> list[datetime]:
    """Ends of the windows a hard bounce at ``at`` falls in, earliest first: its own time and the time of
    each hard bounce within window_days after it."""
    horizon = at + timedelta(days=window_days)
    return sorted({at} | {moment for moment in hard_bounce_times if at <= moment < horizon})


def periods_touched_by(at: datetime, window_days: int) -> tuple[datetime, datetime]:
    """The two periods that can hold the end of a window ``at`` falls in (ends span under window_days)."""
    first = spike_period_start(at, window_days)
    return first, first + timedelta(days=window_days)


def open_window_ends(
    at: datetime, window_days: int, flagged: Collection[datetime]
) -> tuple[datetime, datetime] | None:
    """The span [lo, hi) where the windows a hard bounce at ``at`` falls in may still end: the part of
    [at, at + window_days) whose period is not flagged already; None when all of it is."""
    first, second = periods_touched_by(at, window_days)
    lo = at if first not in flagged else second
    hi = at + timedelta(days=window_days) if second not in flagged else second
    return (lo, hi) if lo < hi else None


def ends_to_count(
    at: datetime, hard_bounce_times: Iterable[datetime], window_days: int, flagged: Collection[datetime]
) -> list[datetime]:
    """The ends of the windows a hard bounce at ``at`` falls in whose periods are not flagged already:
    the windows ``spikes_touched_by`` counts, earliest first."""
    ends = window_ends(at, hard_bounce_times, window_days)
    return [end for end in ends if spike_period_start(end, window_days) not in flagged]


def counted_span(ends: Collection[datetime], window_days: int) -> tuple[datetime, datetime] | None:
    """The times whose rows the windows ending at ``ends`` count: after the first one's start, up to
    the last end (both as instants; a row exactly at the start is not counted)."""
    if not ends:
        return None
    return window_start(min(ends), window_days), max(ends)


def spikes_touched_by(
    bounces: list[HardBounce],
    reveals: list[RevealSeen],
    at: datetime,
    window_days: int,
    min_contacts: int,
    min_rate: float,
    skip: Collection[datetime] = (),
) -> dict[datetime, EmployerWindow]:
    """Per period, the first spiking window among those a hard bounce at ``at`` falls in; periods in
    ``skip`` (flagged already) are not counted.

    It reads only rows inside ``counted_span`` of ``ends_to_count``, whose hard bounces' times inside
    ``open_window_ends`` decide the ends: what a store must have loaded for it.
    """
    found: dict[datetime, EmployerWindow] = {}
    for end in ends_to_count(at, (bounce.bounced_at for bounce in bounces), window_days, skip):
        period = spike_period_start(end, window_days)
        if period in found:
            continue
        window = count_window(bounces, reveals, end, window_days)
        if is_spike(window, min_contacts, min_rate):
            found[period] = window
    return found
