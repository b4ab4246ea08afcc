"""Service-level objectives over the history: latency percentiles, errors, throughput.

Like k6 thresholds, an SLO is data and a breach fails the run. The numbers are exact,
computed from every sample rather than from a load tool's rounded histogram:

- **Percentiles** use the nearest-rank method: the p-th percentile of n sorted samples is
  the sample at rank ⌈p/100 · n⌉ (1-based; p = 0 gives the minimum). It is always an
  observed value, never an interpolation.
- **Latency** counts from an operation's intended start when it has one (open model), so a
  stalled server cannot hide its tail by delaying the next request (coordinated
  omission); otherwise from its actual start. Timeouts count with the time waited.
- **Classification**: ``ok`` operations succeed; ``fail`` with a status in
  ``expected_statuses`` (by default 409 — the seat was taken) are *expected refusals*,
  neither success nor error; every other ``fail`` and every ``unknown`` is an error.
  ``cut-off`` operations (interrupted by the load generator's stop) say nothing about the
  service: they are counted apart (``cut_off``) and measured in nothing else.
  ``error_rate`` = errors / all; ``success_rate`` = ok / all.
- **Throughput** is non-error operations (ok + expected refusals) per second of the
  measured window, so fast 503s cannot make an overloaded service look busy.
- **Warm-up** is left out: operations scheduled before ``warmup_end`` are not measured,
  and the window starts at ``warmup_end``. Operations scheduled at or after the window's
  ``end`` are left out too.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from scenarios.checks.result import CheckResult, Verdict
from scenarios.checks.snapshot import MeasuredWindow
from scenarios.history import History, Operation, Outcome


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of ``samples`` (need not be sorted); ``p`` in [0, 100]."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile must be within [0, 100], got {p}")
    ordered = sorted(samples)
    # Exact decimal arithmetic: in floats 99.9 / 100 * 1000 is 999.0000000000001, a rank too far.
    rank = max(1, math.ceil(Fraction(str(p)) * len(ordered) / 100))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Slo:
    """Thresholds for one operation (``None`` = every operation); unset ones are not checked.

    Latencies are limits the percentile may reach (``measured <= limit`` passes).
    """

    operation: str | None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_error_rate: float | None = None
    min_success_rate: float | None = None
    min_throughput: float | None = None  # non-error operations per second
    expected_statuses: frozenset[int] = field(default_factory=lambda: frozenset({409}))
    min_samples: int = 1

    @property
    def name(self) -> str:
        return f"slo:{self.operation or 'all'}"


@dataclass(frozen=True)
class OperationStats:
    """What was measured for one operation over the measured window."""

    operation: str | None
    count: int
    ok: int
    expected: int
    errors: int
    unknown: int
    window_s: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    error_rate: float | None
    success_rate: float | None
    throughput: float | None
    cut_off: int = 0

    def to_metrics(self) -> dict[str, Any]:
        return asdict(self)


def measured(
    operations: Iterable[Operation], operation: str | None, window: MeasuredWindow
) -> list[Operation]:
    """The operations an SLO measures: the named one, scheduled within the window."""
    return [
        op
        for op in operations
        if (operation is None or op.name == operation)
        and (window.warmup_end is None or op.scheduled_at >= window.warmup_end)
        and (window.end is None or op.scheduled_at < window.end)
    ]


def measure(
    history: History,
    operation: str | None,
    window: MeasuredWindow | None = None,
    expected_statuses: Iterable[int] = (409,),
) -> OperationStats:
    window = window or MeasuredWindow()
    scheduled = measured(history.operations, operation, window)
    ops = [op for op in scheduled if op.outcome is not Outcome.CUT_OFF]
    expected_set = frozenset(expected_statuses)
    ok = sum(1 for op in ops if op.outcome is Outcome.OK)
    expected = sum(1 for op in ops if op.outcome is Outcome.FAIL and op.status in expected_set)
    unknown = sum(1 for op in ops if op.outcome is Outcome.UNKNOWN)
    errors = len(ops) - ok - expected
    latencies = [op.latency_s * 1000 for op in ops]

    start = window.warmup_end
    if start is None and ops:
        start = min(op.scheduled_at for op in ops)
    end = window.end
    if end is None and ops:
        end = max(op.end for op in ops)
    window_s = None if start is None or end is None else end - start
    n = len(ops)

    def pct(p: float) -> float | None:
        return percentile(latencies, p) if latencies else None

    return OperationStats(
        operation=operation,
        count=n,
        ok=ok,
        expected=expected,
        errors=errors,
        unknown=unknown,
        window_s=window_s,
        p50_ms=pct(50),
        p95_ms=pct(95),
        p99_ms=pct(99),
        max_ms=max(latencies) if latencies else None,
        mean_ms=statistics.fmean(latencies) if latencies else None,
        error_rate=errors / n if n else None,
        success_rate=ok / n if n else None,
        throughput=(ok + expected) / window_s if window_s and window_s > 0 else None,
        cut_off=len(scheduled) - n,
    )


def slo_check(history: History, slo: Slo, window: MeasuredWindow | None = None) -> CheckResult:
    """Pass when every set threshold holds; fail listing each breach; unknown without data."""
    stats = measure(history, slo.operation, window, slo.expected_statuses)
    metrics = stats.to_metrics()
    if stats.count < slo.min_samples:
        return CheckResult.make(
            slo.name,
            Verdict.UNKNOWN,
            f"{stats.count} samples of {slo.operation or 'any operation'} after warm-up, "
            f"need {slo.min_samples}",
            metrics=metrics,
        )

    limits: list[tuple[str, float | None, float | None, bool]] = [
        ("p50_ms", slo.p50_ms, stats.p50_ms, True),
        ("p95_ms", slo.p95_ms, stats.p95_ms, True),
        ("p99_ms", slo.p99_ms, stats.p99_ms, True),
        ("error_rate", slo.max_error_rate, stats.error_rate, True),
        ("success_rate", slo.min_success_rate, stats.success_rate, False),
        ("throughput", slo.min_throughput, stats.throughput, False),
    ]
    breaches: list[dict[str, Any]] = []
    unmeasured: list[str] = []
    for key, limit, value, is_max in limits:
        if limit is None:
            continue
        if value is None:
            unmeasured.append(key)
        elif (value > limit) if is_max else (value < limit):
            breaches.append(
                {
                    "threshold": key,
                    "limit": limit,
                    "measured": value,
                    "rule": "at most" if is_max else "at least",
                }
            )
    if breaches:
        summary = "; ".join(
            f"{b['threshold']} {_fmt(b['measured'])} (limit {b['rule']} {_fmt(b['limit'])})"
            for b in breaches
        )
        return CheckResult.make(slo.name, Verdict.FAIL, summary, breaches, metrics)
    if unmeasured:
        return CheckResult.make(
            slo.name,
            Verdict.UNKNOWN,
            f"could not measure {', '.join(unmeasured)}",
            metrics=metrics,
        )
    return CheckResult.make(
        slo.name,
        Verdict.PASS,
        f"{stats.count} ops: p95 {_fmt(stats.p95_ms)} ms, errors {_fmt(stats.error_rate)}, "
        f"{_fmt(stats.throughput)} ops/s",
        metrics=metrics,
    )


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"
