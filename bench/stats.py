"""The arithmetic of a figure: medians, percentiles and ratios (pure, no I/O)."""

import itertools
import math
import statistics
from collections.abc import Sequence


def median(samples: Sequence[float]) -> float:
    if not samples:
        raise ValueError("a median needs at least one sample")
    return float(statistics.median(samples))


def percentile(samples: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1): a value that was actually observed."""
    if not samples:
        raise ValueError("a percentile needs at least one sample")
    if not 0 < share <= 1:
        raise ValueError("share must be in (0, 1]")
    ordered = sorted(samples)
    rank = max(1, math.ceil(share * len(ordered)))
    return float(ordered[rank - 1])


def ratio(ours: float, anchor: float) -> float:
    """Ours over the anchor; NaN when the anchor measured nothing (reported, never hidden)."""
    if anchor <= 0:
        return math.nan
    return ours / anchor


def slice_rates(marks: Sequence[tuple[int, float]]) -> list[float]:
    """Events per second between consecutive (count, time) marks of one long pass.

    Marks crossed by the same batch carry the same count and are merged, so a slice never reads 0/s.
    """
    distinct = [mark for index, mark in enumerate(marks) if index == 0 or mark[0] > marks[index - 1][0]]
    return [
        (count_b - count_a) / (time_b - time_a)
        for (count_a, time_a), (count_b, time_b) in itertools.pairwise(distinct)
        if time_b > time_a
    ]


def pass_rate(marks: Sequence[tuple[int, float]]) -> float:
    """The median slice rate of a pass; its overall rate when batches were too coarse to slice."""
    rates = slice_rates(marks)
    if rates:
        return median(rates)
    (first_count, first_time), (last_count, last_time) = marks[0], marks[-1]
    if last_time <= first_time or last_count <= first_count:
        return math.nan  # one batch carried the whole pass: no honest rate, and never a fake one
    return (last_count - first_count) / (last_time - first_time)
