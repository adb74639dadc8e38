"""Warm-ups, then repetitions, then the median: how every figure is taken on a shared, noisy machine."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.stats import median

Trial = Callable[[int], Awaitable[float]]
"""One measurement; gets its repetition number (negative for warm-ups) so it can use fresh data."""


@dataclass(frozen=True)
class Measured:
    median: float
    samples: tuple[float, ...]


async def median_of(trial: Trial, repetitions: int, warmups: int = 1) -> Measured:
    for number in range(-warmups, 0):
        await trial(number)
    samples = [await trial(number) for number in range(repetitions)]
    return Measured(median(samples), tuple(samples))


async def paired_medians(
    ours: Trial, anchor: Trial, repetitions: int, warmups: int = 1
) -> tuple[Measured, Measured]:
    """Ours and the anchor taken in turns, so drift of a shared machine falls on both alike."""
    samples: tuple[list[float], list[float]] = ([], [])
    for number in range(-warmups, repetitions):
        taken = (await ours(number), await anchor(number))
        if number >= 0:
            samples[0].append(taken[0])
            samples[1].append(taken[1])
    return Measured(median(samples[0]), tuple(samples[0])), Measured(median(samples[1]), tuple(samples[1]))
