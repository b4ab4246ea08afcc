"""Bootstrap confidence intervals for the figures of a load test, resampled in time blocks.

Operations of a load test are not independent draws: a slow second (a lock convoy, a pool
cliff, a GC pause) makes every operation in it slow. Resampling operations one by one would
treat a 20-second stall as thousands of independent bad outcomes and give an interval far
too narrow — certainty the data does not have. So the unit of resampling is time: the
measured window is cut into one-second bins, and a moving-block bootstrap (Künsch 1989)
draws runs of ``block`` consecutive seconds with replacement until the window is filled
again. Within a block, the operations and their correlation stay together.

The block length adapts to the data: at least ∛n seconds (the textbook rate for n bins),
and at least the lag at which the per-second series (operations and mean latency) stops
being correlated with itself, capped at a quarter of the window so there are blocks to draw.

Everything is vectorised. A resample is a vector of multiplicities, one per second; an
operation weighs what its second weighs. Percentiles are weighted nearest-rank over the
latencies sorted once, the definition the report's tables use, so a figure's interval and
its point estimate are the same statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

PERCENTILES = (50, 95, 99)
RESAMPLES = 2000
CONFIDENCE = 0.95
MIN_CHECKPOINT = 64  # fewest operations between the cumulative weights of every resample


@dataclass(frozen=True)
class Sample:
    """One variant's measured operations of one kind, in its measured window.

    ``t`` is each operation's (scheduled) start, in seconds; ``answered`` marks ok and
    expected refusals (what throughput counts), ``error`` the rest that count as errors.
    """

    t: np.ndarray
    latency_ms: np.ndarray
    answered: np.ndarray
    error: np.ndarray
    start: float
    end: float

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ValueError(f"the window must have a length, got {self.start}…{self.end}")
        n = len(self.t)
        if not len(self.latency_ms) == len(self.answered) == len(self.error) == n:
            raise ValueError("t, latency_ms, answered and error must have one entry per operation")

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def bins(self) -> int:
        return max(1, math.ceil(self.seconds - 1e-9))

    @property
    def bin_of(self) -> np.ndarray:
        width = self.seconds / self.bins
        return np.clip(((self.t - self.start) / width).astype(int), 0, self.bins - 1)

    def __len__(self) -> int:
        return len(self.t)


@dataclass(frozen=True)
class Figures:
    """Point estimates of one sample, and their bootstrap distributions (``RESAMPLES`` each)."""

    observed: dict[str, float]
    resampled: dict[str, np.ndarray]
    block: int
    resamples: int = field(default=RESAMPLES)


def metric_names(percentiles: tuple[int, ...] = PERCENTILES) -> tuple[str, ...]:
    return ("throughput", *(f"p{p}" for p in percentiles), "error_rate")


def block_length(sample: Sample) -> int:
    """Seconds per block: ∛n at least, longer while the per-second series is autocorrelated."""
    n = sample.bins
    floor = max(1, math.ceil(n ** (1 / 3)))
    cap = max(1, n // 4)
    if n < 8 or len(sample) == 0:
        return min(floor, cap)
    counts = np.bincount(sample.bin_of, minlength=n).astype(float)
    sums = np.bincount(sample.bin_of, weights=sample.latency_ms, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    fill = np.nanmean(means) if np.isfinite(means).any() else 0.0
    means = np.where(np.isfinite(means), means, fill)
    lag = max(_decorrelation_lag(counts, cap), _decorrelation_lag(means, cap))
    return int(min(max(floor, lag), cap))


def _decorrelation_lag(series: np.ndarray, max_lag: int) -> int:
    """The first lag whose autocorrelation is within noise (2/√n) of zero."""
    x = series - series.mean()
    denominator = float(np.dot(x, x))
    if denominator == 0.0:
        return 1
    bound = 2 / math.sqrt(len(x))
    for lag in range(1, max_lag + 1):
        if abs(float(np.dot(x[:-lag], x[lag:])) / denominator) < bound:
            return lag
    return max_lag


def block_multiplicities(
    bins: int, block: int, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """``resamples × bins`` counts: how often each second appears in each resample.

    Each resample draws ⌈bins/block⌉ block starts uniformly from the bins − block + 1
    possible ones, lays the blocks end to end, and keeps the first ``bins`` seconds.
    """
    block = max(1, min(block, bins))
    k = math.ceil(bins / block)
    starts = rng.integers(0, bins - block + 1, size=(resamples, k))
    seconds = (starts[:, :, None] + np.arange(block)).reshape(resamples, k * block)[:, :bins]
    offsets = (np.arange(resamples) * bins)[:, None]
    flat = np.bincount((seconds + offsets).ravel(), minlength=resamples * bins)
    return flat.reshape(resamples, bins)


def weighted_nearest_rank(
    sorted_values: np.ndarray, weights: np.ndarray, percentiles: tuple[int, ...]
) -> np.ndarray:
    """Nearest-rank percentiles of each row's weighted multiset (``rows × len(percentiles)``);
    ``sorted_values`` ascending, ``weights`` one row per resample; NaN where a row is empty."""
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1] if cumulative.shape[1] else np.zeros(len(weights))
    out = np.full((len(weights), len(percentiles)), np.nan)
    for column, p in enumerate(percentiles):
        rank = np.maximum(1, np.ceil(p / 100 * total))
        index = (cumulative < rank[:, None]).sum(axis=1)
        found = (total > 0) & (index < len(sorted_values))
        out[found, column] = sorted_values[index[found]]
    return out


def binned_nearest_rank(
    sorted_values: np.ndarray,
    sorted_bins: np.ndarray,
    counts: np.ndarray,
    percentiles: tuple[int, ...],
    step: int | None = None,
) -> np.ndarray:
    """``weighted_nearest_rank`` of ``counts[:, sorted_bins]`` without building it.

    An operation weighs what its second weighs in the resample, so the cumulative weight
    at every ``step``-th operation is one product: resamples × seconds times seconds ×
    checkpoints (how many of the operations so far fall in each second). A percentile's
    checkpoint is found there, then only its ``step`` operations are weighed one by one.
    Exact, and resamples × (operations / step + step) cells instead of resamples ×
    operations (least at step = √operations): a million operations take seconds, not minutes.
    """
    n = len(sorted_values)
    step = step if step is not None else max(MIN_CHECKPOINT, math.isqrt(n))
    resamples, bins = counts.shape
    out = np.full((resamples, len(percentiles)), np.nan)
    if n == 0:
        return out
    blocks = -(-n // step)
    block_of = np.arange(n) // step
    per_block = np.bincount(block_of * bins + sorted_bins, minlength=blocks * bins)
    per_block = per_block.reshape(blocks, bins).astype(float)
    weights = counts.astype(float)
    at_checkpoint = weights @ np.cumsum(per_block, axis=0).T
    total = at_checkpoint[:, -1]
    rows = np.arange(resamples)[:, None]
    for column, p in enumerate(percentiles):
        rank = np.maximum(1, np.ceil(p / 100 * total))
        block = np.minimum((at_checkpoint < rank[:, None]).sum(axis=1), blocks - 1)
        before = np.where(block > 0, at_checkpoint[rows[:, 0], np.maximum(block - 1, 0)], 0.0)
        index = block[:, None] * step + np.arange(step)
        inside = index < n
        within = np.where(inside, weights[rows, sorted_bins[np.minimum(index, n - 1)]], 0.0)
        cumulative = before[:, None] + np.cumsum(within, axis=1)
        found_at = block * step + ((cumulative < rank[:, None]) & inside).sum(axis=1)
        found = (total > 0) & (found_at < n)
        out[found, column] = sorted_values[found_at[found]]
    return out


def observed_figures(
    sample: Sample, percentiles: tuple[int, ...] = PERCENTILES
) -> dict[str, float]:
    ones = np.ones((1, len(sample)), dtype=np.int64)
    order = np.argsort(sample.latency_ms, kind="stable")
    values = weighted_nearest_rank(sample.latency_ms[order], ones, percentiles)[0]
    n = len(sample)
    figures = {"throughput": float(sample.answered.sum()) / sample.seconds}
    figures |= {f"p{p}": float(v) for p, v in zip(percentiles, values, strict=True)}
    figures["error_rate"] = float(sample.error.sum()) / n if n else math.nan
    return figures


def bootstrap(
    sample: Sample,
    *,
    resamples: int = RESAMPLES,
    block: int | None = None,
    percentiles: tuple[int, ...] = PERCENTILES,
    rng: np.random.Generator | None = None,
) -> Figures:
    """Every figure of ``sample`` and its distribution over ``resamples`` block resamples."""
    rng = rng if rng is not None else np.random.default_rng()
    block = block if block is not None else block_length(sample)
    counts = block_multiplicities(sample.bins, block, resamples, rng)
    bin_of = sample.bin_of
    order = np.argsort(sample.latency_ms, kind="stable")
    sorted_latency = sample.latency_ms[order]
    sorted_bins = bin_of[order]
    answered_per_bin = np.bincount(bin_of, weights=sample.answered, minlength=sample.bins)
    errors_per_bin = np.bincount(bin_of, weights=sample.error, minlength=sample.bins)
    ops_per_bin = np.bincount(bin_of, minlength=sample.bins).astype(float)
    seconds = sample.seconds
    resampled: dict[str, np.ndarray] = {
        "throughput": counts @ answered_per_bin / seconds,
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        resampled["error_rate"] = (counts @ errors_per_bin) / (counts @ ops_per_bin)
    quantiles = binned_nearest_rank(sorted_latency, sorted_bins, counts, percentiles)
    for column, p in enumerate(percentiles):
        resampled[f"p{p}"] = quantiles[:, column]
    return Figures(observed_figures(sample, percentiles), resampled, block, resamples)


def interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile interval of a bootstrap distribution (NaN draws left out)."""
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return (math.nan, math.nan)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return (float(low), float(high))
