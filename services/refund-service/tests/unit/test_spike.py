"""When an employer domain counts as bouncing, and which period a spike belongs to."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refund_service.domain.spike import (
    EmployerWindow,
    HardBounce,
    RevealSeen,
    count_window,
    counted_span,
    ends_to_count,
    is_spike,
    open_window_ends,
    periods_touched_by,
    spike_period_start,
    spikes_touched_by,
    window_ends,
)

SPIKES = [
    # hard bounces, hard-bounced reveals, distinct contacts, reveals, spike?
    (5, 5, 5, 25, True),  # exactly 5 contacts at exactly 0.2
    (5, 5, 5, 26, False),  # rate just under 0.2
    (4, 4, 4, 4, False),  # too few contacts, whatever the rate
    (9, 6, 4, 6, False),  # many bounces, but only 4 people
    (12, 10, 10, 10, True),
    (6, 6, 5, 100, False),
    (0, 0, 0, 0, False),
]


@pytest.mark.parametrize(("hard_bounces", "bounced_reveals", "contacts", "reveals", "spike"), SPIKES)
def test_spike_rule(
    hard_bounces: int, bounced_reveals: int, contacts: int, reveals: int, spike: bool
) -> None:
    window = EmployerWindow(hard_bounces, bounced_reveals, contacts, reveals)
    assert is_spike(window, min_contacts=5, min_rate=0.2) is spike


def test_rate_of_an_empty_window_is_zero() -> None:
    assert EmployerWindow(0, 0, 0, 0).rate == 0.0


@pytest.mark.parametrize(
    ("at", "period_start"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)),
        (datetime(1970, 1, 7, 23, 59, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)),
        (datetime(1970, 1, 8, tzinfo=UTC), datetime(1970, 1, 8, tzinfo=UTC)),
        (datetime(2026, 11, 26, 12, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)),
        (datetime(2026, 12, 2, 23, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)),
        (datetime(2026, 12, 3, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC)),
    ],
)
def test_one_period_per_window(at: datetime, period_start: datetime) -> None:
    assert spike_period_start(at, 7) == period_start


T = datetime(2026, 11, 20, 12, tzinfo=UTC)  # inside the period 2026-11-19 .. 2026-11-26


def hard(n: int, at: datetime, contact: str | None = None) -> HardBounce:
    return HardBounce(f"b-{n}", f"r-{n}", contact or f"c-{n}", at)


def revealed(n: int, at: datetime) -> RevealSeen:
    return RevealSeen(f"r-{n}", at)


COUNTS = [
    # bounces, reveals, window end, expected (hard_bounces, hard-bounced reveals, contacts, reveals)
    (
        [hard(n, T) for n in range(3)],
        [revealed(n, T - timedelta(days=1)) for n in range(10)],
        T,
        (3, 3, 3, 10),
    ),
    # the window excludes its start and includes its end
    ([hard(0, T - timedelta(days=7)), hard(1, T)], [], T, (1, 1, 1, 1)),
    # a later bounce is not in a window that ends earlier
    ([hard(0, T), hard(1, T + timedelta(seconds=1))], [], T, (1, 1, 1, 1)),
    # a reveal made before the window still counts once it hard-bounces in it
    ([hard(0, T)], [revealed(0, T - timedelta(days=20)), revealed(5, T)], T, (1, 1, 1, 2)),
    # two bounces of one reveal, and one contact revealed twice
    ([hard(0, T), HardBounce("b-x", "r-0", "c-0", T), hard(1, T, contact="c-0")], [], T, (3, 2, 1, 2)),
]


@pytest.mark.parametrize(("bounces", "reveals", "end", "expected"), COUNTS)
def test_count_window(
    bounces: list[HardBounce], reveals: list[RevealSeen], end: datetime, expected: tuple[int, int, int, int]
) -> None:
    window = count_window(bounces, reveals, end, 7)
    assert (
        window.hard_bounces,
        window.hard_bounced_reveals,
        window.distinct_contacts,
        window.reveals,
    ) == expected


def test_a_bounce_that_arrives_late_completes_the_window_of_a_later_one() -> None:
    bounces = [hard(n, T + timedelta(minutes=n)) for n in range(5)]
    # the bounce at T+1min is the last to arrive: its own window holds only 2 of the 5
    touched = spikes_touched_by(bounces, [], T + timedelta(minutes=1), 7, min_contacts=5, min_rate=0.2)
    assert list(touched) == [datetime(2026, 11, 19, tzinfo=UTC)]
    assert touched[datetime(2026, 11, 19, tzinfo=UTC)].distinct_contacts == 5


def test_windows_in_two_periods_give_one_spike_each() -> None:
    bounces = [hard(n, T + timedelta(days=4, hours=n)) for n in range(5)]  # 2026-11-24
    bounces.append(hard(5, datetime(2026, 11, 26, 1, tzinfo=UTC)))  # the next period, same sliding window
    touched = spikes_touched_by(bounces, [], bounces[0].bounced_at, 7, min_contacts=5, min_rate=0.2)
    assert sorted(touched) == [datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)]


def test_bounces_a_window_or_more_later_are_not_joined() -> None:
    bounces = [hard(0, T)] + [hard(n, T + timedelta(days=7)) for n in range(1, 5)]
    assert spikes_touched_by(bounces, [], T, 7, min_contacts=5, min_rate=0.2) == {}


@pytest.mark.parametrize(
    ("later_minutes", "ends_minutes"),
    [
        ([], [0]),
        ([0, 0], [0]),  # its own time once, however many bounces share it
        ([-1, 3, 2, 3], [0, 2, 3]),  # earlier bounces end no window it is in; ends come sorted
        ([7 * 24 * 60 - 1, 7 * 24 * 60], [0, 7 * 24 * 60 - 1]),  # a window later or more is not joined
    ],
)
def test_window_ends(later_minutes: list[int], ends_minutes: list[int]) -> None:
    later = [T + timedelta(minutes=m) for m in later_minutes]
    assert window_ends(T, later, 7) == [T + timedelta(minutes=m) for m in ends_minutes]


@pytest.mark.parametrize(
    ("at", "periods"),
    [
        (T, (datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC))),
        (
            datetime(2026, 11, 26, tzinfo=UTC),
            (datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC)),
        ),
    ],
)
def test_periods_touched_by(at: datetime, periods: tuple[datetime, datetime]) -> None:
    assert periods_touched_by(at, 7) == periods
    ends = window_ends(at, [at + timedelta(days=7) - timedelta(microseconds=1)], 7)
    assert {spike_period_start(end, 7) for end in ends} <= set(periods)


P1, P2 = datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)  # the periods T touches


@pytest.mark.parametrize(
    ("at", "flagged", "span"),
    [
        (T, set(), (T, T + timedelta(days=7))),
        (T, {P1}, (P2, T + timedelta(days=7))),  # only windows ending in the next period are left
        (T, {P2}, (T, P2)),
        (T, {P1, P2}, None),
        (T, {P1 - timedelta(days=7), P2 + timedelta(days=7)}, (T, T + timedelta(days=7))),
        (P2, {P2}, None),  # on a period's first instant its windows all end in that period
    ],
)
def test_open_window_ends(
    at: datetime, flagged: set[datetime], span: tuple[datetime, datetime] | None
) -> None:
    assert open_window_ends(at, 7, flagged) == span


def test_ends_to_count_leaves_out_flagged_periods() -> None:
    later = [T + timedelta(days=1), P2 + timedelta(hours=1), T - timedelta(days=1)]
    assert ends_to_count(T, later, 7, set()) == [T, T + timedelta(days=1), P2 + timedelta(hours=1)]
    assert ends_to_count(T, later, 7, {P1}) == [P2 + timedelta(hours=1)]
    assert ends_to_count(T, later, 7, {P2}) == [T, T + timedelta(days=1)]


def test_counted_span_reaches_a_window_back_from_the_first_end() -> None:
    assert counted_span([], 7) is None
    assert counted_span([T + timedelta(days=2), T], 7) == (T - timedelta(days=7), T + timedelta(days=2))


DAYS = 40
START = datetime(2026, 11, 1, tzinfo=UTC)
moments = st.integers(0, DAYS * 24).map(lambda hours: START + timedelta(hours=hours))


@settings(max_examples=300, deadline=None)
@given(
    bounce_times=st.lists(st.tuples(moments, st.integers(0, 7)), min_size=1, max_size=30),
    reveal_times=st.lists(moments, max_size=30),
    checked=st.integers(0, 29),
    flagged=st.sets(st.integers(-1, DAYS // 7 + 1).map(lambda n: START + timedelta(days=7 * n - 3))),
    window_days=st.sampled_from([1, 3, 7]),
)
def test_a_check_reads_only_rows_inside_its_spans(
    bounce_times: list[tuple[datetime, int]],
    reveal_times: list[datetime],
    checked: int,
    flagged: set[datetime],
    window_days: int,
) -> None:
    """What a store loads for a check (rows inside the spans, both ends included) decides as all rows do."""
    bounces = [HardBounce(f"b-{n}", f"r-{n}", f"c-{c}", at) for n, (at, c) in enumerate(bounce_times)]
    reveals = [RevealSeen(f"r-{n}", at) for n, at in enumerate(reveal_times)]
    at = bounces[checked % len(bounces)].bounced_at
    flagged = {spike_period_start(moment, window_days) for moment in flagged}
    everything = spikes_touched_by(bounces, reveals, at, window_days, 2, 0.3, skip=flagged)
    open_ends = open_window_ends(at, window_days, flagged)
    if open_ends is None:
        assert everything == {}
        return
    lo, hi = open_ends
    ending = [b for b in bounces if lo <= b.bounced_at <= hi]
    span = counted_span(ends_to_count(at, [b.bounced_at for b in ending], window_days, flagged), window_days)
    if span is None:
        assert everything == {}
        return
    first, last = span
    counted = [b for b in bounces if first <= b.bounced_at <= last]
    loaded = {b.bounce_id: b for b in [*ending, *counted]}
    seen = [reveal for reveal in reveals if first <= reveal.revealed_at <= last]
    assert spikes_touched_by(list(loaded.values()), seen, at, window_days, 2, 0.3, skip=flagged) == everything
