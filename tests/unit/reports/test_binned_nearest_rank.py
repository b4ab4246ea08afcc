"""The bootstrap's percentiles without one weight per operation and resample: the same
answers as weighing every operation, for every shape of input the report can give it."""

from __future__ import annotations

import numpy as np
import pytest

from reports.bootstrap import binned_nearest_rank, weighted_nearest_rank

PERCENTILES = (0, 1, 50, 95, 99, 100)


def both(
    n: int, bins: int, resamples: int, step: int | None, seed: int, zero_share: float = 0.3
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = np.sort(np.round(rng.lognormal(3, 1, n), 1))  # ties on purpose
    sorted_bins = rng.integers(0, bins, n)
    counts = rng.integers(0, 4, (resamples, bins)) * (rng.random((resamples, bins)) > zero_share)
    expected = weighted_nearest_rank(values, counts[:, sorted_bins], PERCENTILES)
    found = binned_nearest_rank(values, sorted_bins, counts, PERCENTILES, step=step)
    return expected, found


@pytest.mark.parametrize(
    ("n", "bins", "step"),
    [
        (1, 1, 4),  # fewer operations than a checkpoint
        (7, 3, 7),  # exactly one checkpoint
        (100, 10, 7),  # a last checkpoint shorter than the others
        (1000, 60, 32),
        (1000, 60, 1024),
        (5000, 300, 100),
        (20000, 120, None),  # the default: √n operations a checkpoint
    ],
)
def test_binned_percentiles_equal_weighing_every_operation(
    n: int, bins: int, step: int | None
) -> None:
    expected, found = both(n, bins, resamples=50, step=step, seed=n + bins)
    np.testing.assert_array_equal(found, expected)


def test_a_resample_that_drew_only_empty_seconds_has_no_percentile() -> None:
    values = np.array([1.0, 2.0, 3.0])
    sorted_bins = np.array([0, 0, 1])
    counts = np.array([[0, 0, 5], [1, 1, 0]])
    found = binned_nearest_rank(values, sorted_bins, counts, (50,), step=2)
    assert np.isnan(found[0, 0])
    assert found[1, 0] == 2.0


def test_no_operations_give_no_percentiles() -> None:
    found = binned_nearest_rank(np.array([]), np.array([], dtype=int), np.ones((3, 2)), (95,))
    assert found.shape == (3, 1)
    assert np.isnan(found).all()


def test_heavily_weighted_seconds_move_the_percentile_as_weighing_does() -> None:
    expected, found = both(2000, 20, resamples=200, step=64, seed=7, zero_share=0.8)
    np.testing.assert_array_equal(found, expected)
