"""Which differences between variants are real: per operation, throughput, p50/p95/p99 and
error rate side by side, each difference with a bootstrap confidence interval and a sentence.

Pairs: in one run, every variant against the first (the scenario's baseline — ``naive`` in
double-booking); across runs, each variant against the same-named variant of the first run
(the same experiment repeated), or, when no name is shared, everything against the first.
Throughput and latencies compare as ratios (other ÷ baseline; a real difference is an
interval that excludes 1), error rates as differences in percentage points (an interval that
excludes 0). Each variant is resampled on its own (``reports/bootstrap.py``), in time
blocks. The random generator is seeded, so rebuilding a report gives the same intervals.

Intervals are per comparison (95 %): with many operations and figures, about one in twenty
comparisons of two identical setups will still look "significant"; the report says so.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reports import tables
from reports.bootstrap import (
    CONFIDENCE,
    PERCENTILES,
    RESAMPLES,
    Figures,
    Sample,
    bootstrap,
    interval,
    metric_names,
)
from reports.rundir import Run, Variant
from reports.tables import Window

LATENCIES = tuple(f"p{p}" for p in PERCENTILES)
METRICS = metric_names()
SEED = 20_240_601


@dataclass(frozen=True)
class Entry:
    """A variant as the comparison sees it: a label and its figures per operation."""

    label: str
    name: str
    run_id: str
    figures: dict[str, Figures]


@dataclass(frozen=True)
class Difference:
    operation: str
    metric: str
    baseline: str
    other: str
    baseline_value: float
    other_value: float
    kind: str  # "ratio" (other ÷ baseline) or "points" (other − baseline, percentage points)
    estimate: float
    low: float
    high: float
    variant: str | None = None  # set when one variant is compared across two runs …
    runs: tuple[str, str] = ("", "")  # … then the sentence names the runs (baseline, other)

    @property
    def comparable(self) -> bool:
        return all(math.isfinite(v) for v in (self.estimate, self.low, self.high))

    @property
    def significant(self) -> bool:
        if not self.comparable:
            return False
        neutral = 1.0 if self.kind == "ratio" else 0.0
        return self.low > neutral or self.high < neutral

    @property
    def sentence(self) -> str:
        return sentence(self)


@dataclass
class Comparison:
    entries: list[Entry]
    differences: list[Difference] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def significant(self) -> list[Difference]:
        return [d for d in self.differences if d.significant]

    def lines(self) -> list[tuple[str, bool]]:
        """(sentence, significant): significant differences first, largest first; then one
        line per pair and operation naming the figures that did not differ."""
        out = [(d.sentence, True) for d in sorted(self.significant, key=_strength, reverse=True)]
        quiet: dict[tuple[str, str, str], list[str]] = {}
        for d in self.differences:
            if not d.significant:
                name = label_of(d.metric) if d.comparable else f"{label_of(d.metric)} (too few)"
                operation = "all operations" if d.operation == tables.ALL else d.operation
                if d.variant is not None:
                    key = (d.runs[0], d.runs[1], f"{operation} ({d.variant})")
                else:
                    key = (d.baseline, d.other, operation)
                quiet.setdefault(key, []).append(name)
        for (baseline, other, shown), metrics in quiet.items():
            out.append(
                (
                    f"{shown}: no significant difference between {other} and {baseline} in "
                    f"{', '.join(metrics)}",
                    False,
                )
            )
        return out

    def sentences(self) -> list[str]:
        return [line for line, _ in self.lines()]

    def headline(self) -> str:
        """The one sentence the top of a report shows."""
        if not self.differences:
            return "only one variant: nothing to compare"
        found = sorted(self.significant, key=_strength, reverse=True)
        total = len(self.differences)
        if not found:
            return f"no significant difference in any of {total} comparisons (95 % CI)"
        count = f"{len(found)} of {total} comparisons differ significantly"
        return f"{count}; largest: {found[0].sentence}"


def _strength(difference: Difference) -> float:
    if difference.kind == "ratio":
        return abs(math.log(difference.estimate)) if difference.estimate > 0 else 0.0
    return abs(difference.estimate) / 100


def label_of(metric: str) -> str:
    return {"throughput": "throughput", "error_rate": "error rate"}.get(metric, metric)


def factor(value: float) -> str:
    if value < 1.5:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def sentence(d: Difference) -> str:
    operation = "all operations" if d.operation == tables.ALL else d.operation
    what = f"{label_of(d.metric)} of {operation}"
    if d.variant is not None:  # one variant, two runs: "p95 of hold (naive) is … in run B"
        named = dataclasses.replace(d, baseline=d.runs[0], other=d.runs[1])
        return _sentence(f"{what} ({d.variant})", named, "in")
    return _sentence(what, d, "with")


def _sentence(what: str, d: Difference, by: str) -> str:
    if not d.comparable:
        return f"{what}: not comparable between {d.other} and {d.baseline} (too few samples)"
    if d.kind == "points":
        shown = (
            f"({d.other_value * 100:.2f} % vs {d.baseline_value * 100:.2f} %; "
            f"95 % CI {d.low:+.2f} to {d.high:+.2f} points)"
        )
        if not d.significant:
            return f"{what}: no significant difference between {d.other} and {d.baseline} {shown}"
        direction = "higher" if d.estimate > 0 else "lower"
        return (
            f"{what} is {abs(d.estimate):.2f} points {direction} {by} {d.other} than {by} "
            f"{d.baseline} {shown}"
        )
    if not d.significant:
        return (
            f"{what}: no significant difference between {d.other} and {d.baseline} "
            f"(ratio {factor(d.estimate)}, 95 % CI {factor(d.low)}–{factor(d.high)})"
        )
    if d.estimate >= 1:
        return (
            f"{what} is {factor(d.estimate)}× higher {by} {d.other} than {by} {d.baseline} "
            f"(95 % CI {factor(d.low)}–{factor(d.high)})"
        )
    return (
        f"{what} is {factor(1 / d.estimate)}× lower {by} {d.other} than {by} {d.baseline} "
        f"(95 % CI {factor(1 / d.high)}–{factor(1 / d.low)})"
    )


# -- from run directories -------------------------------------------------------------------


def samples(variant: Variant, window: Window | None = None) -> dict[str, Sample]:
    """Each operation's measured samples, on the window the report's tables use; requests
    cut off by the generator's stop are left out, as the tables leave them out."""
    window = window or tables.window_of(variant)
    ops = tables.measured(variant.ops, window)
    if ops.empty:
        return {}
    start = window.warmup_end if window.warmup_end is not None else float(ops["scheduled"].min())
    end = window.end if window.end is not None else float(ops["end"].max())
    if not end > start:
        return {}
    flags = tables.classify(ops)
    ops, flags = ops[~flags["cut_off"]], flags[~flags["cut_off"]]  # as the tables count
    if ops.empty:
        return {}
    answered = flags["ok"] | flags["refused"]

    def sample_of(index: pd.Index) -> Sample:
        return Sample(
            t=ops.loc[index, "scheduled"].to_numpy(float),
            latency_ms=ops.loc[index, "latency_ms"].to_numpy(float),
            answered=answered.loc[index].to_numpy(bool),
            error=flags.loc[index, "errors"].to_numpy(bool),
            start=float(start),
            end=float(end),
        )

    out = {str(name): sample_of(group.index) for name, group in ops.groupby("name", sort=True)}
    out[tables.ALL] = sample_of(ops.index)
    return out


def entry(label: str, variant: Variant, run_id: str, window: Window | None = None) -> Entry:
    rng = np.random.default_rng(SEED + zlib.crc32(f"{run_id}/{variant.name}".encode()))
    figures = {op: bootstrap(s, rng=rng) for op, s in samples(variant, window).items()}
    return Entry(label, variant.name, run_id, figures)


def pairs(entries: Sequence[Entry]) -> list[tuple[Entry, Entry]]:
    """(baseline, other) pairs: same-named variants across runs, else all against the first."""
    if len(entries) < 2:
        return []
    runs = list(dict.fromkeys(e.run_id for e in entries))
    if len(runs) > 1:
        first = {e.name: e for e in entries if e.run_id == runs[0]}
        matched = [(first[e.name], e) for e in entries if e.run_id != runs[0] and e.name in first]
        if matched:
            return matched
    return [(entries[0], other) for other in entries[1:]]


def differences(
    baseline: Entry, other: Entry, short: dict[str, str] | None = None
) -> list[Difference]:
    """Every figure of every operation both have; ``short`` names runs in sentences."""
    across = baseline.name == other.name and baseline.run_id != other.run_id
    short = short or {}
    runs = (short.get(baseline.run_id, baseline.run_id), short.get(other.run_id, other.run_id))
    out = []
    for operation in sorted(set(baseline.figures) & set(other.figures)):
        a, b = baseline.figures[operation], other.figures[operation]
        for metric in METRICS:
            found = difference(operation, metric, baseline.label, other.label, a, b)
            if across:
                found = dataclasses.replace(found, variant=baseline.name, runs=runs)
            out.append(found)
    return out


def short_run_ids(run_ids: Sequence[str]) -> dict[str, str]:
    """Run ids without the scenario name they share (``20261203-073610``), for sentences."""
    unique = list(dict.fromkeys(run_ids))
    stamps = [rid[:15] for rid in unique]
    same_tail = len({rid[15:] for rid in unique}) == 1 and len(set(stamps)) == len(unique)
    return {rid: (stamp if same_tail else rid) for rid, stamp in zip(unique, stamps, strict=True)}


def difference(
    operation: str, metric: str, baseline: str, other: str, a: Figures, b: Figures
) -> Difference:
    va, vb = a.observed[metric], b.observed[metric]
    ra, rb = a.resampled[metric], b.resampled[metric]
    if metric == "error_rate":
        estimate = (vb - va) * 100
        low, high = interval((rb - ra) * 100, CONFIDENCE)
        return Difference(operation, metric, baseline, other, va, vb, "points", estimate, low, high)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = rb / ra
        estimate = vb / va if va > 0 else math.nan
    low, high = interval(ratios[np.isfinite(ratios) & (ratios > 0)], CONFIDENCE)
    return Difference(operation, metric, baseline, other, va, vb, "ratio", estimate, low, high)


def compare_entries(entries: Sequence[Entry]) -> Comparison:
    comparison = Comparison(list(entries))
    short = short_run_ids([e.run_id for e in entries])
    for baseline, other in pairs(entries):
        comparison.differences += differences(baseline, other, short)
    return comparison


def compare_runs(
    runs: Sequence[Run], variants: Sequence[tuple[str, Run, Variant, Window | None]] | None = None
) -> Comparison:
    """Every variant of every run, compared as :func:`pairs` says, with provenance warnings.

    ``variants`` are (label, run, variant, window) as a page shows them; by default every
    variant of every run, labelled ``run / variant`` when there are several runs.
    """
    if variants is None:
        variants = [
            (f"{run.run_id} / {v.name}" if len(runs) > 1 else v.name, run, v, None)
            for run in runs
            for v in run.variants
        ]
    comparison = compare_entries(
        [entry(label, variant, run.run_id, window) for label, run, variant, window in variants]
    )
    comparison.warnings = provenance_warnings(runs) + contention_warnings(
        [(label, run, variant) for label, run, variant, _ in variants]
    )
    return comparison


CONTENDED_SHARE = 0.25  # of the machine's cores, taken by processes outside the lab


def contention_warnings(variants: Sequence[tuple[str, Run, Variant]]) -> list[str]:
    """Variants that ran while other work took a good share of the machine (summary.json's
    ``machine.other_cpu_cores_mean``): their differences may be that work's, not theirs."""
    busy: list[tuple[str, float, float]] = []
    for label, run, variant in variants:
        machine = variant.summary.get("machine")
        if not isinstance(machine, dict):
            continue
        other = machine.get("other_cpu_cores_mean")
        cores = machine.get("cores") or (run.manifest.get("machine") or {}).get("cores")
        numeric = isinstance(other, int | float) and isinstance(cores, int | float) and cores
        if numeric and other > CONTENDED_SHARE * cores:
            busy.append((label, float(other), float(cores)))
    if not busy:
        return []
    if len(busy) == len(variants) and len(busy) > 2:
        low, high = min(b[1] for b in busy), max(b[1] for b in busy)
        which = f"every variant: {low:.2f}–{high:.2f} of {busy[0][2]:g} cores"
    else:
        which = "; ".join(
            f"{label}: {other:.2f} of {cores:g} cores" for label, other, cores in busy
        )
    return [
        f"Other work on the machine took CPU while these variants ran ({which}, on average): "
        "a difference may come from that contention rather than from the variant; compare "
        "runs made on a quiet machine before trusting one."
    ]


MACHINE_KEYS = ("cores", "cpu_model", "memory_bytes", "platform")


def provenance_warnings(runs: Sequence[Run]) -> list[str]:
    """Runs on different machines, code versions or scenarios: say so before any number."""
    if len(runs) < 2:
        return []
    warnings = []

    def describe(key: str, value_of) -> None:  # type: ignore[no-untyped-def]
        values = [value_of(run.manifest) for run in runs]
        if len({str(v) for v in values}) > 1:
            shown = "; ".join(f"{run.run_id}: {v}" for run, v in zip(runs, values, strict=True))
            warnings.append(f"The runs differ in {key} ({shown}): {CAUSE[key]}")

    describe("machine", lambda m: _machine(m.get("machine")))
    describe("code version", lambda m: _code(m.get("code")))
    describe("scenario", lambda m: _scenario(m.get("scenario")))
    return warnings


CAUSE = {
    "machine": "a difference may come from the machine rather than the variant",
    "code version": "a difference may come from the code change rather than the variant",
    "scenario": "they did not run the same experiment",
}


def _machine(machine: object) -> str:
    if not isinstance(machine, dict):
        return "unknown"
    shown = []
    for key in MACHINE_KEYS:
        value = machine.get(key)
        if value is None:
            continue
        if key == "memory_bytes" and isinstance(value, int | float):
            shown.append(f"memory={value / 2**30:.1f} GiB")
        else:
            shown.append(f"{key}={value}")
    return ", ".join(shown)


def _code(code: object) -> str:
    if not isinstance(code, dict) or not code.get("git_sha"):
        return "unknown"
    sha = str(code["git_sha"])[:10]
    return f"{sha} (uncommitted changes)" if code.get("dirty") else sha


def _scenario(scenario: object) -> str:
    return str(scenario.get("name")) if isinstance(scenario, dict) else str(scenario)


def difference_table(comparison: Comparison) -> pd.DataFrame:
    """One row per difference, for the report's table."""
    rows = [
        {
            "operation": d.operation,
            "metric": label_of(d.metric),
            "baseline": d.baseline,
            "other": d.other,
            "baseline_value": d.baseline_value,
            "other_value": d.other_value,
            "kind": d.kind,
            "estimate": d.estimate,
            "low": d.low,
            "high": d.high,
            "significant": d.significant,
        }
        for d in comparison.differences
    ]
    return pd.DataFrame(rows)


__all__ = ["RESAMPLES", "Comparison", "Difference", "Entry", "compare_entries", "compare_runs"]
