"""The arithmetic behind every figure."""

import math

import pytest

from bench.stats import median, pass_rate, percentile, ratio, slice_rates


@pytest.mark.parametrize(
    ("samples", "expected"),
    [([3.0], 3.0), ([1.0, 9.0, 5.0], 5.0), ([1.0, 2.0, 3.0, 10.0], 2.5)],
)
def test_median(samples: list[float], expected: float) -> None:
    assert median(samples) == expected


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.5, 50.0), (0.99, 99.0), (1.0, 100.0), (0.001, 1.0)],
)
def test_percentile_is_an_observed_value(share: float, expected: float) -> None:
    assert percentile([float(n) for n in range(100, 0, -1)], share) == expected


@pytest.mark.parametrize("share", [0.0, 1.5, -0.1])
def test_percentile_rejects_shares_outside_the_unit_interval(share: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], share)


@pytest.mark.parametrize(
    ("ours", "anchor", "expected"),
    [(50.0, 100.0, 0.5), (300.0, 100.0, 3.0)],
)
def test_ratio(ours: float, anchor: float, expected: float) -> None:
    assert ratio(ours, anchor) == expected


def test_ratio_without_an_anchor_is_nan_not_zero() -> None:
    assert math.isnan(ratio(10.0, 0.0))


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ([(0, 0.0), (100, 1.0), (300, 2.0)], [100.0, 200.0]),
        # one batch crossed two thresholds: the repeated count is merged, not read as 0/s
        ([(0, 0.0), (500, 1.0), (500, 1.01), (1000, 2.0)], [500.0, 500.0]),
        ([(10, 1.0)], []),
    ],
)
def test_slice_rates(marks: list[tuple[int, float]], expected: list[float]) -> None:
    assert slice_rates(marks) == pytest.approx(expected)


def test_pass_rate_falls_back_to_the_whole_pass_when_nothing_can_be_sliced() -> None:
    assert math.isnan(pass_rate([(600, 1.0), (600, 2.0)]))
    assert pass_rate([(0, 0.0), (100, 1.0), (300, 2.0), (350, 3.0)]) == 100.0
