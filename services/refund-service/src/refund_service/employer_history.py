"""What the store holds of one employer for the spike rule: rows loaded for spans of time, plus its own.

The store never loads an employer's whole history: it loads the spans of time a check reads
(``domain.spike``'s ``open_window_ends`` and ``counted_span``) and remembers, per table, which spans it
has, so it loads each row once however many checks of a poll read it. No I/O here.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from refund_service.domain import spike
from refund_service.domain.rows import Bounce, Reveal

Span = tuple[datetime, datetime]
"""From, to: both included."""


class Rows(Enum):
    """What the store loads of an employer, each over spans of its own time column."""

    FLAGGED = "period_start"
    HARD_BOUNCES = "bounced_at"
    REVEALS = "revealed_at"


class Spans:
    """The spans of time whose rows are loaded (kept sorted and disjoint)."""

    def __init__(self) -> None:
        self._spans: list[Span] = []

    def missing(self, lo: datetime, hi: datetime) -> list[Span]:
        """The parts of [lo, hi] not loaded yet (touching a loaded span at their ends)."""
        gaps: list[Span] = []
        for start, end in self._spans:
            if end < lo:
                continue
            if start > hi:
                break
            if start > lo:
                gaps.append((lo, start))
            if end >= hi:
                return gaps
            lo = end
        gaps.append((lo, hi))
        return gaps

    def add(self, lo: datetime, hi: datetime) -> None:
        merged: list[Span] = []
        for start, end in sorted([*self._spans, (lo, hi)]):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        self._spans = merged


class EmployerHistory:
    """An employer's matched hard bounces, reveals and flagged periods: those inside the spans loaded,
    and every one this store added, whenever it is."""

    def __init__(self) -> None:
        self.hard_bounces: dict[int, Bounce] = {}
        self.reveals: dict[int, Reveal] = {}
        self.flagged: set[datetime] = set()
        """Periods with a spike emitted already (a flag is never lifted)."""
        self.loaded = {rows: Spans() for rows in Rows}

    def add_bounce(self, bounce: Bounce) -> None:
        self.hard_bounces[id(bounce)] = bounce

    def add_reveal(self, reveal: Reveal) -> None:
        self.reveals[id(reveal)] = reveal

    def hard_bounce_times(self) -> list[datetime]:
        return [row.bounced_at for row in self.hard_bounces.values() if row.reveal_id is not None]

    def facts(self) -> tuple[list[spike.HardBounce], list[spike.RevealSeen]]:
        """The rows as the spike rule counts them."""
        hard = [
            spike.HardBounce(row.bounce_id, row.reveal_id, row.contact_id, row.bounced_at)
            for row in self.hard_bounces.values()
            if row.reveal_id is not None
        ]
        return hard, [spike.RevealSeen(row.reveal_id, row.revealed_at) for row in self.reveals.values()]


def clusters(gaps: list[tuple[datetime, datetime, str]]) -> list[tuple[Span, set[str]]]:
    """Employers' gaps merged where they overlap: one load each, of every employer in it over all of it."""
    found: list[tuple[Span, set[str]]] = []
    for lo, hi, employer in sorted(gaps):
        if found and lo <= found[-1][0][1]:
            (start, end), employers = found[-1]
            found[-1] = ((start, max(end, hi)), employers | {employer})
        else:
            found.append(((lo, hi), {employer}))
    return found
