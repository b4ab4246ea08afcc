"""Per-variant numbers from the history: ``stats.csv`` (per second) and ``summary.json``.

The rules are the SLO checks': percentiles are exact (nearest rank over every sample),
latency counts from the intended start when there is one, the warm-up is left out, and
throughput is answered operations (ok, or refused with 409) per second of the window.
Holds refused are the 409s: a 503 is contention, reported among the errors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import pandas as pd

from scenarios.history import History, Outcome

PERCENTILES = (50, 95, 99)


def operations_frame(history: History) -> pd.DataFrame:
    rows = [
        {
            "name": op.name,
            "scheduled": op.scheduled_at,
            "end": op.end,
            "latency_ms": op.latency_s * 1000,
            "outcome": op.outcome.value,
            "status": op.status,
            "problem_type": op.problem_type,
            "error": op.error,
        }
        for op in history.operations
    ]
    columns = [
        "name",
        "scheduled",
        "end",
        "latency_ms",
        "outcome",
        "status",
        "problem_type",
        "error",
    ]
    return pd.DataFrame(rows, columns=columns)


def nearest_rank(values: pd.Series, p: float) -> float | None:
    if values.empty:
        return None
    ordered = values.sort_values().to_numpy()
    rank = math.ceil(Fraction(str(p)) * len(ordered) / 100)  # exact, as the SLO checks
    return float(ordered[max(1, rank) - 1])


def measured(frame: pd.DataFrame, warmup_end: float | None, end: float | None) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if warmup_end is not None:
        keep &= frame["scheduled"] >= warmup_end
    if end is not None:
        keep &= frame["scheduled"] < end
    return frame[keep]


def per_second(frame: pd.DataFrame, load_start: float) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    frame = frame.assign(second=((frame["scheduled"] - load_start) // 1).astype(int))
    rows = []
    for (second, name), group in frame.groupby(["second", "name"], sort=True):
        counts = group["outcome"].value_counts()
        row: dict[str, Any] = {
            "second": int(second),
            "operation": name,
            "requests": len(group),
            "ok": int(counts.get(Outcome.OK.value, 0)),
            "fail": int(counts.get(Outcome.FAIL.value, 0)),
            "unknown": int(counts.get(Outcome.UNKNOWN.value, 0)),
        }
        for p in PERCENTILES:
            value = nearest_rank(group["latency_ms"], p)
            row[f"p{p}_ms"] = None if value is None else round(value, 3)
        rows.append(row)
    return rows


def error_kind(row: Mapping[str, Any]) -> str:
    """``409 seats-taken``, ``503 contention``, ``500``, or the client's reason (``timeout``)."""
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
    counts = group["outcome"].value_counts()
    ok = int(counts.get(Outcome.OK.value, 0))
    answered = ok + int(((group["outcome"] == Outcome.FAIL.value) & (group["status"] == 409)).sum())
    errors: dict[str, dict[str, Any]] = {}
    for _, row in group[group["outcome"] != Outcome.OK.value].iterrows():
        kind = error_kind(row)
        sample = present(row["error"]) or present(row["problem_type"])
        entry = errors.setdefault(kind, {"count": 0, "sample": sample})
        entry["count"] += 1
    summary: dict[str, Any] = {
        "count": len(group),
        "ok": ok,
        "fail": int(counts.get(Outcome.FAIL.value, 0)),
        "unknown": int(counts.get(Outcome.UNKNOWN.value, 0)),
        "throughput_per_s": round(answered / seconds, 3) if seconds > 0 else None,
        "errors": errors,
    }
    for p in PERCENTILES:
        value = nearest_rank(group["latency_ms"], p)
        summary[f"p{p}_ms"] = None if value is None else round(value, 3)
    return summary


def summarize(
    history: History,
    *,
    load_start: float,
    load_end: float,
    warmup_s: float,
    extra: Mapping[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(stats rows, summary) for one variant."""
    frame = operations_frame(history)
    warmup_end = load_start + warmup_s
    window = measured(frame, warmup_end, load_end)
    seconds = max(0.0, load_end - warmup_end)
    operations = {name: operation_summary(group, seconds) for name, group in window.groupby("name")}
    holds = window[window["name"] == "hold"]
    summary: dict[str, Any] = {
        "operations": operations,
        "holds_granted": int((holds["outcome"] == Outcome.OK.value).sum()),
        "holds_refused": int((holds["status"] == 409).sum()),
        "warmup_s": warmup_s,
        "duration_s": round(load_end - load_start, 3),
        "load_start": load_start,
        "load_end": load_end,
        "requests": len(frame),
    }
    summary.update(extra or {})
    return per_second(frame, load_start), summary
