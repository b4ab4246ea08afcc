"""Leak verdicts: a robust slope of each resource over the soak, and the rule that decided.

Pure functions of the samples (no I/O), so the verdict can be tested on synthetic series.

The slope is Theil–Sen's (the median of the slopes between every pair of samples), which
shrugs off the spikes a garbage collection or a burst of requests puts in a memory series;
its confidence interval is Sen's, from the ranks of those pairwise slopes (Kendall's S
variance), so it needs no assumption on the noise. Slopes are given per minute and, when
the worker's request count is known, per 1,000 requests (the leak's cost per request is
what tells a defect from a cache that fills with time).

The verdict, over the samples after warm-up (rules in the order they are tried):

    INCONCLUSIVE  fewer than ``MIN_POINTS`` samples or less than ``MIN_SPAN_S`` of them;
    LEAK          it rose by at least the material amount to its ceiling (a pool's size)
                  and stays there: exhausted (Theil–Sen would see only the flat top);
    INCONCLUSIVE  it was at its ceiling from the window's start: exhausted in the warm-up,
                  or simply all busy; the window cannot show the climb;
    NO LEAK       even the slope's upper bound is under the material rate;
    INCONCLUSIVE  the interval includes 0 and the material rate: too noisy;
    INCONCLUSIVE  it surely grows, but the interval straddles the material rate;
    LEAK          it grows at the material rate or faster and still grows in the second
                  half of the window;
    NO LEAK       it grew and then levelled off (even the second half's upper bound is
                  under the material rate): a step (a cache filled, a pool warmed);
    INCONCLUSIVE  it grew, and the second half is too noisy to tell a step from a leak.

A NO LEAK needs the load to have been there: when the worker's request count is known and
it served nothing in the window, or its rate in the window's last third fell under
``STEADY_SHARE`` of its first third's (sold out, its pool gone, the load generator
stalled), a resource that stopped growing proves nothing and NO LEAK becomes INCONCLUSIVE.

The material rate is the growth that matters for the resource: for memory, half a MiB per
1,000 requests the worker served (its cost per request tells a leak from a warm process
settling, whatever the throughput; per minute, half a MiB, when the count is unknown);
ten descriptors or sockets a minute (a default limit of 1,024 reached within two hours;
a server keeps an idle client's connection for its keep-alive, aiohttp's 75 s, so their
count drifts up by a few a minute until that horizon passes); five pooled connections a
minute (a pool of 20 gone in four minutes), judged on the pool's floor since in-use
connections swing by several from second to second under load.
A step is judged by the larger of the fitted slope and the rise from the window's first
fifth to its last (Theil–Sen understates a step: most pairs lie on one side of it).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

MIN_POINTS = 20
MIN_SPAN_S = 30.0
MAX_POINTS = 240  # pairs grow as n²; thinning evenly keeps the fit under a few ms
CONFIDENCE = 0.95
MIB = 1024 * 1024
# Memory is judged per 1,000 requests served when the worker's count is known: its cost
# per request is what tells a leak from a warm process settling, whatever the throughput
# (half a MiB per 1,000 requests: 500 bytes kept per request). Otherwise per minute.
MATERIAL_PER_1K = {"uss_bytes": 0.5 * MIB, "rss_bytes": 0.5 * MIB}
# Material rates, per minute.
MATERIAL = {
    "uss_bytes": 0.5 * MIB,
    "rss_bytes": 0.5 * MIB,
    "fds": 10.0,
    "sockets_established": 10.0,
    "sockets_close_wait": 10.0,
    "pool_in_use": 5.0,
}
# Connections in use swing with the load from one second to the next; the ones never given
# back show as a floor that rises under the swing. So a pool is judged on its floor: the
# least in use over the last ``FLOOR_SAMPLES`` samples.
FLOORED = frozenset({"pool_in_use"})
FLOOR_SAMPLES = 10
UNITS = {"uss_bytes": "bytes", "rss_bytes": "bytes", "pool_in_use": "connections"}
STEADY_SHARE = 0.5


class Leak(StrEnum):
    LEAK = "LEAK"
    NO_LEAK = "NO LEAK"
    INCONCLUSIVE = "INCONCLUSIVE"


@dataclass(frozen=True)
class Fit:
    """y ≈ intercept + slope·x, with Sen's confidence interval [low, high] on the slope."""

    slope: float
    intercept: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class LeakVerdict:
    """One resource of one process: the verdict, the rule that decided it, and the fit
    (per second of ``t``, so the report can draw the line) with its per-minute and
    per-1,000-request forms."""

    resource: str
    verdict: Leak
    rule: str
    material: float  # per minute, or per 1,000 requests (``judged_per``)
    judged_per: str
    points: int
    t_start: float
    t_end: float
    slope_per_s: float | None = None
    intercept: float | None = None  # at t_start
    per_minute: float | None = None
    per_minute_low: float | None = None
    per_minute_high: float | None = None
    per_1k_requests: float | None = None
    per_1k_low: float | None = None
    per_1k_high: float | None = None
    growth: float | None = None  # fitted growth over the window
    late_per_minute: float | None = None
    late_per_minute_low: float | None = None
    late_per_minute_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict.value
        return data


def _thin(x: Sequence[float], y: Sequence[float], limit: int) -> tuple[list[float], list[float]]:
    if len(x) <= limit:
        return list(x), list(y)
    step = (len(x) - 1) / (limit - 1)
    picks = [round(i * step) for i in range(limit)]
    return [x[i] for i in picks], [y[i] for i in picks]


def theil_sen(x: Sequence[float], y: Sequence[float], confidence: float = CONFIDENCE) -> Fit | None:
    """Theil–Sen slope with Sen's rank-based interval; None without two distinct x."""
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length ({len(x)} and {len(y)})")
    xs, ys = _thin(x, y, MAX_POINTS)
    n = len(xs)
    slopes = sorted(
        (ys[j] - ys[i]) / (xs[j] - xs[i])
        for i in range(n)
        for j in range(i + 1, n)
        if xs[j] != xs[i]
    )
    if not slopes:
        return None
    slope = statistics.median(slopes)
    intercept = statistics.median(yv - slope * xv for xv, yv in zip(xs, ys, strict=True))
    count = len(slopes)
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    c = z * math.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    low_rank = max(0, math.floor((count - c) / 2))
    high_rank = min(count - 1, math.ceil((count + c) / 2))
    return Fit(slope, intercept, slopes[low_rank], slopes[high_rank], n)


def _fmt(resource: str, value: float) -> str:
    if UNITS.get(resource) == "bytes":
        return f"{value / MIB:+.2f} MiB"
    return f"{value:+.2f}"


def leak_verdict(
    resource: str,
    t: Sequence[float],
    y: Sequence[float],
    *,
    requests: Sequence[float] | None = None,
    ceiling: float | None = None,
    material: float | None = None,
) -> LeakVerdict:
    """The verdict on one series already cut to the measured window (after warm-up).

    ``requests`` is the process's cumulative request count at each sample (for the slope
    per 1,000 requests, and the axis memory is judged on); ``ceiling`` the most the
    resource can reach (a pool's size).
    """
    points = [(a, b) for a, b in zip(t, y, strict=True) if b is not None and not math.isnan(b)]
    n = len(points)
    t0, t1 = (points[0][0], points[-1][0]) if points else (0.0, 0.0)
    span = t1 - t0
    served = _served(points, requests, t)
    per_request = resource in MATERIAL_PER_1K and served is not None
    if material is None:
        material = MATERIAL_PER_1K[resource] if per_request else MATERIAL.get(resource, 1.0)
    base = {
        "resource": resource,
        "material": material,
        "judged_per": "1k requests" if per_request else "min",
        "points": n,
        "t_start": t0,
        "t_end": t1,
    }
    if n < MIN_POINTS or span < MIN_SPAN_S:
        rule = (
            f"only {n} samples over {span:.0f} s after warm-up; a slope needs at least "
            f"{MIN_POINTS} over {MIN_SPAN_S:.0f} s"
        )
        return LeakVerdict(verdict=Leak.INCONCLUSIVE, rule=rule, **base)
    xs = [a - t0 for a, _ in points]
    ys = [b for _, b in points]
    fit = theil_sen(xs, ys)
    if fit is None:  # cannot happen with span > 0, kept for the type
        return LeakVerdict(verdict=Leak.INCONCLUSIVE, rule="no two distinct times", **base)
    late = _late(xs, ys)
    numbers: dict[str, float] = {
        "slope_per_s": fit.slope,
        "intercept": fit.intercept,
        "per_minute": fit.slope * 60,
        "per_minute_low": fit.low * 60,
        "per_minute_high": fit.high * 60,
        "growth": fit.slope * span,
    }
    if late is not None:
        numbers |= {
            "late_per_minute": late.slope * 60,
            "late_per_minute_low": late.low * 60,
            "late_per_minute_high": late.high * 60,
        }
    axis = (xs, fit, late, 60.0, "min")
    if served is not None:
        by_request = theil_sen(served, ys)
        if by_request is not None:
            numbers |= {
                "per_1k_requests": by_request.slope * 1000,
                "per_1k_low": by_request.low * 1000,
                "per_1k_high": by_request.high * 1000,
            }
            if per_request:
                axis = (served, by_request, _late(served, ys), 1000.0, "1k requests")
    x_axis, chosen, chosen_late, per, unit = axis
    verdict, rule = _decide(
        resource, chosen, chosen_late, x_axis[-1] - x_axis[0], material, ys, ceiling, per, unit
    )
    unsteady = _unsteady_load(t, requests) if requests is not None else None
    if verdict is Leak.NO_LEAK and unsteady is not None:
        verdict, rule = Leak.INCONCLUSIVE, f"{rule}; but {unsteady}: not a soak under load"
    return LeakVerdict(verdict=verdict, rule=rule, **base, **numbers)


def _unsteady_load(t: Sequence[float], requests: Sequence[float]) -> str | None:
    """Why the load was not steady over the window, or None when it was (or is unknown)."""
    known = [
        (a, r) for a, r in zip(t, requests, strict=True) if r is not None and not math.isnan(r)
    ]
    if len(known) < 6:
        return None
    t0, t1 = known[0][0], known[-1][0]
    third = (t1 - t0) / 3
    early = [(a, r) for a, r in known if a <= t0 + third]
    late = [(a, r) for a, r in known if a >= t1 - third]

    def rate(part: list[tuple[float, float]]) -> float:
        (a0, r0), (a1, r1) = part[0], part[-1]
        return (r1 - r0) / (a1 - a0) if a1 > a0 else 0.0

    if len(early) < 2 or len(late) < 2:
        return None
    first, last = rate(early), rate(late)
    if first <= 0 and last <= 0:
        return "the worker served no request in the window"
    if last < STEADY_SHARE * first:
        return (
            f"its load fell from {first:.1f} to {last:.1f} requests/s between the window's "
            f"first and last thirds (under {STEADY_SHARE:.0%})"
        )
    return None


def _served(
    points: Sequence[tuple[float, float]], requests: Sequence[float] | None, t: Sequence[float]
) -> list[float] | None:
    """Requests served at each point, when known at every one and growing."""
    if requests is None:
        return None
    by_t = dict(zip(t, requests, strict=True))
    served = [by_t.get(a) for a, _ in points]
    if any(r is None or math.isnan(r) for r in served) or len(served) < 3:
        return None
    if served[-1] <= served[0]:
        return None
    return [float(r) for r in served]


def _late(xs: Sequence[float], ys: Sequence[float]) -> Fit | None:
    middle = (xs[0] + xs[-1]) / 2
    half = [(a, b) for a, b in zip(xs, ys, strict=True) if a >= middle]
    return theil_sen([a for a, _ in half], [b for _, b in half]) if len(half) >= 3 else None


def _decide(
    resource: str,
    fit: Fit,
    late: Fit | None,
    span: float,
    material: float,
    ys: Sequence[float],
    ceiling: float | None,
    per: float = 60.0,
    unit: str = "min",
) -> tuple[Leak, str]:
    """``fit`` is over an axis (seconds, or requests served) whose ``per`` units make the
    one the material is given in (a minute, 1,000 requests)."""

    def rate(slope: float) -> str:
        return f"{_fmt(resource, slope * per)}/{unit}"

    interval = f"95% CI [{rate(fit.low)}, {rate(fit.high)}]"
    slope = f"slope {rate(fit.slope)}, {interval}"
    limit = f"{_fmt(resource, material).lstrip('+')}/{unit}"
    threshold = material / per
    fifth = max(3, len(ys) // 5)
    first, last = statistics.median(ys[:fifth]), statistics.median(ys[-fifth:])
    rise = last - first
    if ceiling is not None and ceiling > 0 and last >= ceiling and rise >= material:
        # Theil–Sen sees the long flat top, not the climb: a pool exhausted is a leak.
        return Leak.LEAK, (
            f"rose from {first:g} to its ceiling of {ceiling:g} (by {rise:g}, at least "
            f"{material:g}) and held there: exhausted"
        )
    if ceiling is not None and ceiling > 0 and first >= ceiling:
        return Leak.INCONCLUSIVE, (
            f"at its ceiling of {ceiling:g} from the window's start: exhausted in the warm-up "
            "or simply all busy, the window cannot show a climb; shorten the warm-up"
        )
    if fit.high < threshold:
        return Leak.NO_LEAK, f"{slope}: even its upper bound is under the material {limit}"
    if fit.low <= 0:
        return Leak.INCONCLUSIVE, (
            f"{slope} includes 0 and the material {limit}: too noisy to decide; soak longer"
        )
    growth = max(fit.slope, rise / span)
    if growth < threshold:
        return Leak.INCONCLUSIVE, (
            f"{slope}: it grows, but maybe slower than the material {limit}; soak longer"
        )
    grew = f"{slope}, at least the material {limit}"
    if late is not None and late.low > 0:
        return Leak.LEAK, (
            f"{grew}, and still growing in the second half ([{rate(late.low)}, {rate(late.high)}])"
        )
    if late is None or late.high >= threshold:
        late_text = f"[{rate(late.low)}, {rate(late.high)}]" if late is not None else "unknown"
        return Leak.INCONCLUSIVE, (
            f"{grew}, but the second half's CI {late_text} includes both 0 and the material "
            "rate: a step or a leak, too noisy to tell; soak longer"
        )
    return Leak.NO_LEAK, (
        f"{slope}, then levelled off (the second half's CI [{rate(late.low)}, "
        f"{rate(late.high)}] is under the material {limit}): a step, not a leak"
    )


def floor(values: Sequence[float], width: int) -> list[float]:
    """Trailing minimum over ``width`` samples (fewer at the start)."""
    return [min(values[max(0, i - width + 1) : i + 1]) for i in range(len(values))]


def worst(verdicts: Sequence[LeakVerdict]) -> Leak:
    """A process or run leaks if any of its resources does; else inconclusive if any is."""
    seen = {v.verdict for v in verdicts}
    if Leak.LEAK in seen:
        return Leak.LEAK
    if Leak.INCONCLUSIVE in seen or not seen:
        return Leak.INCONCLUSIVE
    return Leak.NO_LEAK


def series(
    rows: Sequence[Mapping[str, Any]], column: str, start: float, end: float
) -> tuple[list[float], list[float]]:
    """(t, value) of one process's rows within [start, end], where the column has a value."""
    out_t, out_y = [], []
    for row in rows:
        value = row.get(column)
        if value is None or not start <= row["t"] <= end:
            continue
        out_t.append(float(row["t"]))
        out_y.append(float(value))
    return out_t, out_y


def process_verdicts(
    rows: Sequence[Mapping[str, Any]],
    resources: Sequence[str],
    start: float,
    end: float,
) -> list[dict[str, Any]]:
    """The verdict of every service worker (rows of ``workers.csv`` whose ``kind`` was ever
    ``worker``) on every named resource, over ``[start, end]``: one dict each, with the
    worker's ``pid`` and ``role``. A pool's ceiling is its size limit as the worker reported
    it; the slope per 1,000 requests uses the worker's own request counter."""
    by_pid: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_pid.setdefault(int(row["pid"]), []).append(row)
    out = []
    for pid, own in sorted(by_pid.items()):
        if not any(r.get("kind") == "worker" for r in own):
            continue
        own = sorted(own, key=lambda r: r["t"])
        req_t, req = series(own, "requests", start, end)
        requests = dict(zip(req_t, req, strict=True))
        ceilings = [float(r["pool_max"]) for r in own if r.get("pool_max") is not None]
        for resource in resources:
            t, y = series(own, resource, start, end)
            if resource in FLOORED:
                y = floor(y, FLOOR_SAMPLES)
            verdict = leak_verdict(
                resource,
                t,
                y,
                requests=[requests.get(x, math.nan) for x in t] if requests else None,
                ceiling=max(ceilings) if resource == "pool_in_use" and ceilings else None,
            )
            out.append({"pid": pid, "role": own[0].get("role"), **verdict.to_dict()})
    return out
