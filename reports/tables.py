"""The numbers of a report, computed from the operation samples rather than from stats.csv.

Percentiles are exact and use the same definitions as the SLO checks
(``scenarios/checks/slo.py``), so a report never disagrees with the verdict above it:

- nearest rank: the p-th percentile of n samples is the sample at rank ⌈p/100 · n⌉;
- latency counts from the intended start when there is one (coordinated omission);
- the load runs from the first request sent to the last answer received (summary.json's
  ``window``, else recomputed the same way); operations scheduled before the end of
  warm-up are not measured, and rates divide by the window from there to the last answer;
- a ``fail`` with status 409 is an expected refusal (the seat was taken), neither success
  nor error; throughput counts ok + refusals per second of the window;
- a ``cut-off`` operation (the generator's stop interrupted it) is counted apart, and is
  in no count, error rate, throughput or percentile.

Everything is vectorised: a run of 100k operations is a handful of group-bys.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from reports.rundir import Variant

PERCENTILES = (50, 95, 99)
EXPECTED_STATUSES = (409,)
CONTENTION_STATUS = 503
CUT_OFF = "cut-off"
ALL = "(all)"
DOUBLE_BOOKING_CHECK = "no-double-booking"


@dataclass(frozen=True)
class Window:
    """The measured part of a variant's load, in Unix seconds."""

    load_start: float | None
    warmup_end: float | None
    end: float | None

    @property
    def warmup_s(self) -> float:
        if self.load_start is None or self.warmup_end is None:
            return 0.0
        return max(0.0, self.warmup_end - self.load_start)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def window_of(variant: Variant) -> Window:
    """Where the measured window lies: summary.json's ``window`` (format 2); else from the
    operations — first scheduled start to last answer — with summary.json's ``warmup_s``."""
    summary = variant.summary
    stated = summary.get("window") if isinstance(summary.get("window"), dict) else {}
    ops = variant.ops
    answered = ops[ops["outcome"].ne(CUT_OFF)]
    load_start = _number(stated.get("load_start"))
    if load_start is None and not ops.empty:
        load_start = float(ops["scheduled"].min())
    end = _number(stated.get("load_end"))
    if end is None and not answered.empty:
        end = float(answered["end"].max())
    warmup_s = _number(stated.get("warmup_s", summary.get("warmup_s"))) or 0.0
    warmup_end = None if load_start is None else load_start + warmup_s
    return Window(load_start, warmup_end, end)


def measured(ops: pd.DataFrame, window: Window) -> pd.DataFrame:
    """The operations the statistics count: scheduled after the warm-up."""
    if window.warmup_end is None:
        return ops
    return ops[ops["scheduled"] >= window.warmup_end]


def classify(ops: pd.DataFrame) -> pd.DataFrame:
    """Boolean columns ok / refused / errors / unknown / cut_off beside each operation's name."""
    ok = ops["outcome"].eq("ok")
    refused = ops["outcome"].eq("fail") & ops["status"].isin(EXPECTED_STATUSES)
    cut_off = ops["outcome"].eq(CUT_OFF)
    return pd.DataFrame(
        {
            "operation": ops["name"],
            "ok": ok,
            "refused": refused,
            "errors": ~(ok | refused | cut_off),
            "unknown": ops["outcome"].eq("unknown"),
            "cut_off": cut_off,
        },
        index=ops.index,
    )


def nearest_rank(
    frame: pd.DataFrame, by: str, value: str, percentiles: Iterable[float] = PERCENTILES
) -> pd.DataFrame:
    """Exact nearest-rank percentiles of ``value`` per ``by`` group, without a Python loop
    over rows: sort once, number each row within its group, pick the row at each rank."""
    ordered = frame[[by, value]].sort_values([by, value], kind="stable")
    groups = ordered.groupby(by, sort=True)
    n = groups[value].transform("size").to_numpy()
    position = groups.cumcount().to_numpy() + 1
    columns: dict[str, pd.Series] = {}
    for p in percentiles:
        share = Fraction(str(p)) / 100  # exact: in floats 99.9 / 100 * 1000 > 999
        rank = np.maximum(1, -((-share.numerator * n) // share.denominator))
        picked = ordered[position == rank]
        columns[f"p{p:g}_ms"] = pd.Series(picked[value].to_numpy(), index=picked[by].to_numpy())
    return pd.DataFrame(columns)


def window_seconds(ops: pd.DataFrame, window: Window) -> float | None:
    if ops.empty or window.end is None:
        return None
    start = window.warmup_end if window.warmup_end is not None else ops["scheduled"].min()
    span = float(window.end - start)
    return span if span > 0 else None


def operation_table(variant: Variant, window: Window | None = None) -> pd.DataFrame:
    """A row per operation, then one for all of them: counts, rates and exact percentiles."""
    window = window or window_of(variant)
    ops = measured(variant.ops, window)
    columns = [
        "operation",
        "count",
        "ok",
        "refused",
        "errors",
        "unknown",
        "cut_off",
        "error_rate",
        "throughput_per_s",
        *(f"p{p}_ms" for p in PERCENTILES),
        "max_ms",
    ]
    if ops.empty:
        return pd.DataFrame(columns=columns)
    span = window_seconds(ops, window)
    both = pd.concat([ops, ops.assign(name=ALL)], ignore_index=True)
    flags = classify(both)
    counts = flags.groupby("operation").sum()
    counts.insert(0, "count", counts["ok"] + counts["refused"] + counts["errors"])
    finished = both[~flags["cut_off"]]
    table = counts.join(nearest_rank(finished, "name", "latency_ms"))
    table["max_ms"] = finished.groupby("name")["latency_ms"].max()
    table["error_rate"] = table["errors"] / table["count"].where(table["count"] > 0)
    table["throughput_per_s"] = (table["ok"] + table["refused"]) / span if span else np.nan
    order = [*sorted(n for n in table.index if n != ALL), ALL]
    return table.loc[order].rename_axis("operation").reset_index()[columns]


def error_kinds(ops: pd.DataFrame) -> pd.Series:
    """What went wrong, in the runner's words (summary.json's ``errors`` keys): ``503
    overloaded`` (status and the problem type's last segment), else the status (``500``),
    else the client's reason (``timeout``), else ``no answer``."""
    status = ops["status"].astype("Int64").astype(str).where(ops["status"].notna())
    problem = ops["problem_type"].astype(object).where(ops["problem_type"].notna())
    last_segment = problem.map(lambda p: str(p).rsplit("/", 1)[-1], na_action="ignore")
    problem_kind = status.fillna("-") + " " + last_segment.astype(object).fillna("").astype(str)
    fallback = status.fillna(ops["error"].where(ops["error"].notna())).fillna("no answer")
    return problem_kind.where(problem.notna(), fallback).astype(str)


def error_table(variant: Variant, window: Window | None = None) -> pd.DataFrame:
    """Errors (not ok, not an expected refusal, not cut off) by operation and kind, with a
    sample body.

    The sample is summary.json's, which the runner takes from a response body; failing that,
    the first such operation's own reason and status.
    """
    window = window or window_of(variant)
    ops = measured(variant.ops, window)
    columns = ["operation", "kind", "count", "status", "sample"]
    if ops.empty:
        return pd.DataFrame(columns=columns)
    errors = ops[classify(ops)["errors"]]
    if errors.empty:
        return pd.DataFrame(columns=columns)
    errors = errors.assign(kind=error_kinds(errors))
    own_sample = errors["error"].fillna(errors["problem_type"]).fillna("")
    errors = errors.assign(sample=own_sample)
    table = (
        errors.groupby(["name", "kind"], sort=True)
        .agg(count=("name", "size"), status=("status", "first"), sample=("sample", "first"))
        .reset_index()
        .rename(columns={"name": "operation"})
    )
    samples = _summary_samples(variant.summary)
    if samples:
        keys = list(zip(table["operation"], table["kind"], strict=True))
        found = pd.Series([samples.get(k) for k in keys], index=table.index, dtype="object")
        table["sample"] = found.fillna(table["sample"])
    return table.sort_values(["count", "operation"], ascending=[False, True])[columns]


def summary_operations(summary: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """summary.json's per-operation entries, under ``operations`` or at the top level."""
    nested = summary.get("operations")
    source = nested if isinstance(nested, dict) else summary
    return {
        str(k): v for k, v in source.items() if isinstance(v, dict) and ("count" in v or nested)
    }


def _summary_samples(summary: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    samples: dict[tuple[str, str], str] = {}
    for op, entry in summary_operations(summary).items():
        errors = entry.get("error_kinds", entry.get("errors"))
        if not isinstance(errors, dict):
            continue
        for kind, detail in errors.items():
            if isinstance(detail, dict) and detail.get("sample") is not None:
                samples[(op, str(kind))] = str(detail["sample"])
    return samples


def check_results(variant: Variant) -> list[dict[str, Any]]:
    return list(variant.checks.get("results") or [])


def variant_verdict(variant: Variant) -> str:
    """checks.json's verdict; else the composition of its results; unknown without checks."""
    verdict = variant.checks.get("verdict")
    if verdict in ("pass", "fail", "unknown"):
        return str(verdict)
    results = check_results(variant)
    return combine(r.get("verdict") for r in results) if results else "unknown"


def combine(verdicts: Iterable[Any]) -> str:
    """Any fail → fail; else any unknown (or unreadable) → unknown; else pass."""
    seen = set(verdicts)
    if "fail" in seen:
        return "fail"
    if seen - {"pass"}:
        return "unknown"
    return "pass"


def seats_twice(variant: Variant) -> tuple[float | None, float | None]:
    """Seats held twice (never sold twice) and seats sold twice: summary.json's, else the
    double-booking check's measured numbers."""
    held = _number(variant.summary.get("seats_held_twice"))
    sold = _number(variant.summary.get("seats_sold_twice"))
    for result in check_results(variant):
        metrics = result.get("metrics") or {}
        if result.get("name") == DOUBLE_BOOKING_CHECK:
            held = held if held is not None else _number(metrics.get("seats_held_twice"))
            sold = sold if sold is not None else _number(metrics.get("seats_sold_twice"))
    return held, sold


def holds(variant: Variant, window: Window) -> dict[str, float | None]:
    """Holds granted, refused as taken or over the limit (409), refused for contention
    (503): summary.json's counts, else the measured hold operations."""
    summary = variant.summary
    found = {
        "holds_granted": _number(summary.get("holds_granted")),
        "holds_refused_taken_or_limit": _number(summary.get("holds_refused_taken_or_limit")),
        "holds_refused_contention": _number(summary.get("holds_refused_contention")),
    }
    ops = measured(variant.ops, window)
    hold = ops[ops["name"].eq("hold")]
    if not hold.empty:
        failed = hold["outcome"].eq("fail")
        recomputed = {
            "holds_granted": float(hold["outcome"].eq("ok").sum()),
            "holds_refused_taken_or_limit": float((failed & hold["status"].eq(409)).sum()),
            "holds_refused_contention": float(
                (failed & hold["status"].eq(CONTENTION_STATUS)).sum()
            ),
        }
        found = {k: v if v is not None else recomputed[k] for k, v in found.items()}
    return found


def stale_reads(variant: Variant) -> dict[str, float | None]:
    """Seats a seat map showed free that were already taken, and the 409s that followed
    (summary.json's ``reads``; None for runs from before it was counted)."""
    reads = variant.summary.get("reads")
    reads = reads if isinstance(reads, dict) else {}
    return {
        "stale_reads": _number(reads.get("stale_reads")),
        "holds_refused_after_stale_read": _number(reads.get("holds_refused_after_stale_read")),
    }


def variant_row(
    variant: Variant,
    label: str,
    window: Window | None = None,
    table: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The headline row of a variant: verdict, volume, throughput, and what it sold.

    ``table`` is the variant's :func:`operation_table` when the caller already has it."""
    window = window or window_of(variant)
    table = operation_table(variant, window) if table is None else table
    overall = table[table["operation"].eq(ALL)]
    total = overall.iloc[0] if not overall.empty else None
    held, sold = seats_twice(variant)
    locust = variant.summary.get("locust")
    locust = locust if isinstance(locust, dict) else {}
    requests_per_s = _number(variant.summary.get("requests_per_s"))
    locust_per_s = _number(locust.get("requests_per_s"))
    return {
        "variant": label,
        "verdict": variant_verdict(variant),
        "operations": None if total is None else int(total["count"]),
        "cut_off": None if total is None else int(total["cut_off"]),
        "window_s": window_seconds(measured(variant.ops, window), window),
        "throughput_per_s": None if total is None else total["throughput_per_s"],
        "requests_per_s": requests_per_s,
        "locust_requests_per_s": locust_per_s,
        "locust_source": locust.get("source", "csv" if locust else None),  # csv before it
        "locust_difference": (
            requests_per_s / locust_per_s - 1 if requests_per_s and locust_per_s else None
        ),
        "error_rate": None if total is None else total["error_rate"],
        "p95_ms": None if total is None else total["p95_ms"],
        "seats_held_twice": held,
        "seats_sold_twice": sold,
        **holds(variant, window),
        **stale_reads(variant),
        "warmup_s": window.warmup_s,
        "generator_bottleneck": bool(variant.summary.get("generator_bottleneck")),
    }


def route_table(variant: Variant) -> pd.DataFrame:
    """summary.json's client-versus-server counts per route (empty when absent)."""
    rows = variant.summary.get("routes")
    columns = ["route", "client_answered", "client_in_flight", "server", "difference", "mismatch"]
    if not isinstance(rows, list):
        return pd.DataFrame(columns=columns)
    return pd.DataFrame([r for r in rows if isinstance(r, dict)], columns=columns)


def route_totals(routes: pd.DataFrame) -> dict[str, Any]:
    """One variant's route comparison added up: how many routes, requests on each side, and
    how many routes differ by more than their requests in flight."""
    if routes.empty:
        return {}
    numbers = routes[["client_answered", "client_in_flight", "server", "difference"]]
    sums = numbers.apply(pd.to_numeric, errors="coerce").sum(min_count=1)
    return {
        "routes": len(routes),
        **{k: None if pd.isna(v) else float(v) for k, v in sums.items()},
        "mismatched": int(routes["mismatch"].eq(True).sum()),
    }


def machine_row(variant: Variant) -> dict[str, Any] | None:
    """The machine and the generator over the window (summary.json's ``machine`` and
    ``generator_*``), or None when neither was recorded."""
    summary = variant.summary
    machine = summary.get("machine") if isinstance(summary.get("machine"), dict) else {}
    if not machine.get("samples") and "generator_bottleneck" not in summary:
        return None
    return {
        "cores": _number(machine.get("cores")),
        "cpu_percent_mean": _number(machine.get("cpu_percent_mean")),
        "saturated_share": _number(machine.get("saturated_share")),
        "other_cpu_cores_mean": _number(machine.get("other_cpu_cores_mean")),
        "load_average_peak": _number(machine.get("load_average_peak")),
        "steal_percent_peak": _number(machine.get("steal_percent_peak")),
        "generator_cpu_peak_percent": _number(summary.get("generator_cpu_peak_percent")),
        "generator_cpu_busy_share": _number(summary.get("generator_cpu_busy_share")),
        "generator_bottleneck": bool(summary.get("generator_bottleneck")),
        "generator_evidence": summary.get("generator_evidence"),
    }


def percentile_curve(variant: Variant, window: Window | None = None) -> pd.DataFrame:
    """Latency at fine percentiles (50 … 99.99) per operation and overall, for the overlaid
    percentile chart; nearest rank as above."""
    window = window or window_of(variant)
    ops = measured(variant.ops, window)
    ops = ops[ops["outcome"].ne(CUT_OFF)]
    if ops.empty:
        return pd.DataFrame()
    both = pd.concat([ops, ops.assign(name=ALL)], ignore_index=True)
    return nearest_rank(both, "name", "latency_ms", CURVE_PERCENTILES)


CURVE_PERCENTILES = (25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100)
