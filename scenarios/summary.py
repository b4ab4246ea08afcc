"""Per-variant numbers from the history: ``stats.csv`` (per second) and ``summary.json``.

One definition of each figure, shared with the SLO checks and the report
(``reports/tables.py`` restates it, since reports may not import the lab):

- **Window**: the load runs from the first request sent (the earliest scheduled start) to
  the last answer received (the latest end of an operation that was not cut off). The
  warm-up is the first ``warmup_s`` of it; the measured window runs from its end to the
  last answer, and every rate divides by its length.
- **Measured operations** are those scheduled at or after the end of warm-up — in every
  output: summary.json, stats.csv, the checks and the report.
- **Classes**: ``ok``; ``refused`` — a ``fail`` with 409 (seats taken, over the ticket
  limit: the service doing its job); ``errors`` — every other ``fail`` and every
  ``unknown`` (of which ``unknown`` counts the latter); ``cut_off`` — interrupted by the
  generator's stop, in none of the others. ``count`` = ok + refused + errors.
- ``error_rate`` = errors / count; percentiles are exact (nearest rank) over the count's
  latencies, from the intended start when there is one.
- ``throughput_per_s`` = (ok + refused) / window; ``requests_per_s`` = HTTP requests
  answered / window, a sign-in counting each of its requests: Locust's own ``req/s``,
  which divides the requests it logged by the time from its start to the last answer it
  logged (``scenarios/locust_stats.py``). Answers that arrive while the generator stops
  are in both: they answer requests sent under the full load. On six double-booking
  variants the two agree within 0.2 % and count the same requests.
- **Holds refused** are two quantities: ``holds_refused_taken_or_limit`` (409: seats
  taken or over the ticket limit) and ``holds_refused_contention`` (503: the lock or pool
  was busy, retryable).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pandas as pd

from scenarios.history import History, Outcome

PERCENTILES = (50, 95, 99)
REFUSED_STATUS = 409
CONTENTION_STATUS = 503
WINDOW_BASIS = "first request sent to last answer received; warm-up left out"


@dataclass(frozen=True)
class Window:
    """Where the measured window lies, in Unix seconds."""

    load_start: float
    load_end: float
    warmup_s: float

    @property
    def warmup_end(self) -> float:
        return self.load_start + self.warmup_s

    @property
    def seconds(self) -> float:
        return max(0.0, self.load_end - self.warmup_end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "basis": WINDOW_BASIS,
            "load_start": self.load_start,
            "load_end": self.load_end,
            "warmup_s": self.warmup_s,
            "warmup_end": self.warmup_end,
            "seconds": round(self.seconds, 6),
        }


def measured_window(history: History, warmup_s: float, fallback: tuple[float, float]) -> Window:
    """The window of the history's operations; ``fallback`` (start, end) when none answered."""
    ops = history.operations
    answered = [op.end for op in ops if op.outcome is not Outcome.CUT_OFF]
    if not ops or not answered:
        return Window(fallback[0], fallback[1], warmup_s)
    return Window(min(op.scheduled_at for op in ops), max(answered), warmup_s)


def operations_frame(history: History) -> pd.DataFrame:
    columns = ["name", "scheduled", "end", "latency_ms", "outcome", "status", "problem_type"]
    columns += ["error", "requests"]
    rows = [
        (
            op.name,
            op.scheduled_at,
            op.end,
            op.latency_s * 1000,
            op.outcome.value,
            op.status,
            op.problem_type,
            op.error,
            op.requests,
        )
        for op in history.operations
    ]
    return pd.DataFrame(rows, columns=columns)


def classified(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with boolean columns ok, refused, errors, unknown, cut_off and the HTTP
    requests each operation got an answer to."""
    ok = frame["outcome"].eq(Outcome.OK.value)
    cut_off = frame["outcome"].eq(Outcome.CUT_OFF.value)
    refused = frame["outcome"].eq(Outcome.FAIL.value) & frame["status"].eq(REFUSED_STATUS)
    return frame.assign(
        ok=ok,
        refused=refused,
        errors=~(ok | refused | cut_off),
        unknown=frame["outcome"].eq(Outcome.UNKNOWN.value),
        cut_off=cut_off,
        completed_requests=frame["requests"] - cut_off.astype(int),
    )


def nearest_rank(values: pd.Series, p: float) -> float | None:
    if values.empty:
        return None
    ordered = values.sort_values().to_numpy()
    rank = math.ceil(Fraction(str(p)) * len(ordered) / 100)  # exact, as the SLO checks
    return float(ordered[max(1, rank) - 1])


def counts(group: pd.DataFrame) -> dict[str, Any]:
    """Counts and exact percentiles of one group of classified operations."""
    finished = group[~group["cut_off"]]
    row: dict[str, Any] = {
        "count": len(finished),
        "ok": int(group["ok"].sum()),
        "refused": int(group["refused"].sum()),
        "errors": int(group["errors"].sum()),
        "unknown": int(group["unknown"].sum()),
        "cut_off": int(group["cut_off"].sum()),
    }
    for p in PERCENTILES:
        value = nearest_rank(finished["latency_ms"], p)
        row[f"p{p}_ms"] = None if value is None else round(value, 3)
    return row


def per_second(frame: pd.DataFrame, window: Window) -> list[dict[str, Any]]:
    """stats.csv: the measured operations by second (from the load's start) and name."""
    if frame.empty:
        return []
    frame = frame.assign(second=((frame["scheduled"] - window.load_start) // 1).astype(int))
    return [
        {"second": int(second), "operation": name, **counts(group)}
        for (second, name), group in frame.groupby(["second", "name"], sort=True)
    ]


def error_kind(row: Mapping[str, Any]) -> str:
    """``503 contention``, ``500``, or the client's reason (``timeout``)."""
    status = present(row["status"])
    problem = present(row["problem_type"])
    if problem:
        return f"{int(status) if status is not None else '-'} {str(problem).rsplit('/', 1)[-1]}"
    if status is not None:
        return str(int(status))
    return str(present(row["error"]) or "no answer")


def present(value: Any) -> Any:
    """pandas turns missing values into NaN; the summary wants None."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def operation_summary(group: pd.DataFrame, seconds: float) -> dict[str, Any]:
    summary = counts(group)
    kinds: dict[str, dict[str, Any]] = {}
    for _, row in group[group["errors"]].iterrows():
        sample = present(row["error"]) or present(row["problem_type"])
        entry = kinds.setdefault(error_kind(row), {"count": 0, "sample": sample})
        entry["count"] += 1
    answered = int(group["completed_requests"].sum())
    summary.update(
        error_rate=round(summary["errors"] / summary["count"], 6) if summary["count"] else None,
        throughput_per_s=_rate(summary["ok"] + summary["refused"], seconds),
        requests_per_s=_rate(answered, seconds),
        requests_completed=answered,
        error_kinds=kinds,
    )
    return summary


def _rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 3) if seconds > 0 else None


def summarize(
    history: History, window: Window, extra: Mapping[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(stats rows, summary) for one variant, over its measured window."""
    frame = classified(operations_frame(history))
    measured = frame[frame["scheduled"] >= window.warmup_end]
    operations = {
        str(name): operation_summary(group, window.seconds)
        for name, group in measured.groupby("name")
    }
    overall = operation_summary(measured, window.seconds)
    holds = measured[measured["name"] == "hold"]
    refused = holds["outcome"].eq(Outcome.FAIL.value)
    summary: dict[str, Any] = {
        "window": window.to_dict(),
        "operations": operations,
        "all": overall,
        "requests_per_s": overall["requests_per_s"],
        "throughput_per_s": overall["throughput_per_s"],
        "cut_off": overall["cut_off"],
        "holds_granted": int(holds["ok"].sum()),
        "holds_refused_taken_or_limit": int((refused & holds["refused"]).sum()),
        "holds_refused_contention": int((refused & holds["status"].eq(CONTENTION_STATUS)).sum()),
    }
    summary.update(extra or {})
    return per_second(measured, window), summary
