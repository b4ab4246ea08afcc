"""Comparison statistics on synthetic samples with known truths: a real difference is found
and said plainly, a null one is called no significant difference, and autocorrelation widens
the intervals instead of faking certainty."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reports.bootstrap import (
    Sample,
    block_length,
    block_multiplicities,
    bootstrap,
    observed_figures,
)
from reports.comparison import Entry, compare_entries, pairs, provenance_warnings
from reports.rundir import Run
from reports.tables import nearest_rank

SECONDS = 60
RATE = 40  # operations per second


def synthetic(
    seed: int,
    *,
    median_ms: float = 40.0,
    error_p: float = 0.02,
    stall: tuple[float, float] | None = None,
    rate: float = RATE,
) -> Sample:
    """Poisson arrivals, lognormal latency; a stall multiplies latency by 8 for its duration."""
    rng = np.random.default_rng(seed)
    n = rng.poisson(rate * SECONDS)
    t = np.sort(rng.uniform(0, SECONDS, n))
    latency = median_ms * np.exp(rng.normal(0, 0.5, n))
    if stall is not None:
        latency = np.where((t >= stall[0]) & (t < stall[1]), latency * 8, latency)
    error = rng.random(n) < error_p
    return Sample(t, latency, ~error, error, 0.0, float(SECONDS))


def entry(label: str, sample: Sample, seed: int, run_id: str = "run") -> Entry:
    figures = bootstrap(sample, rng=np.random.default_rng(seed))
    return Entry(label, label, run_id, {"hold": figures})


def by_metric(label_a: str, a: Sample, label_b: str, b: Sample) -> dict[str, object]:
    comparison = compare_entries([entry(label_a, a, 1), entry(label_b, b, 2)])
    return {d.metric: d for d in comparison.differences}


def test_a_fourfold_latency_difference_is_found_and_said_plainly() -> None:
    found = by_metric("naive", synthetic(1, median_ms=40), "redis-gate", synthetic(2, median_ms=10))
    p95 = found["p95"]
    assert p95.significant and p95.low < 0.25 < p95.high  # the truth is exactly 1/4
    assert p95.sentence.startswith("p95 of hold is ")
    assert "× lower with redis-gate than with naive (95 % CI " in p95.sentence
    factor_shown = float(p95.sentence.split("is ")[1].split("×")[0])
    assert 3.5 < factor_shown < 4.6


def test_the_same_process_twice_shows_no_significant_difference() -> None:
    found = by_metric("first", synthetic(5), "second", synthetic(6))
    assert [m for m, d in found.items() if d.significant] == []
    assert all(
        "no significant difference between second and first" in d.sentence for d in found.values()
    )


def test_an_error_rate_difference_is_counted_in_points() -> None:
    found = by_metric("a", synthetic(5, error_p=0.01), "b", synthetic(6, error_p=0.10))
    errors = found["error_rate"]
    assert errors.kind == "points" and errors.significant
    assert errors.low < 9.0 < errors.high
    assert (
        errors.sentence.startswith("error rate of hold is ")
        and "points higher with b" in errors.sentence
    )


def test_throughput_difference_is_a_ratio() -> None:
    found = by_metric("a", synthetic(7, rate=20), "b", synthetic(8, rate=40))
    assert (
        found["throughput"].significant and found["throughput"].low < 2.0 < found["throughput"].high
    )
    assert "throughput of hold is 2.0" in found["throughput"].sentence


def wandering(seed: int) -> Sample:
    """A null process whose latency level wanders (AR(1) per second, φ = 0.7): slow spells
    of several seconds, the autocorrelation a load test has."""
    rng = np.random.default_rng(seed)
    level = np.zeros(SECONDS)
    for second in range(1, SECONDS):
        level[second] = 0.7 * level[second - 1] + rng.normal(0, 0.2)
    n = rng.poisson(RATE * SECONDS)
    t = np.sort(rng.uniform(0, SECONDS, n))
    latency = 40 * np.exp(level[t.astype(int)] + rng.normal(0, 0.3, n))
    error = rng.random(n) < 0.02
    return Sample(t, latency, ~error, error, 0.0, float(SECONDS))


def one_by_one(sample: Sample) -> Sample:
    """The same operations, each in a bin of its own: resampling them one by one."""
    n = len(sample)
    spread = np.arange(n) * (SECONDS / n)
    return Sample(spread, sample.latency_ms, sample.answered, sample.error, 0.0, float(SECONDS))


def false_alarms(make, *, pairs_: int = 30, block: int | None = None) -> int:  # type: ignore[no-untyped-def]
    """How many of ``pairs_`` comparisons of two draws of one process call p95 different."""
    alarms = 0
    for n in range(pairs_):
        a, b = make(1000 + 2 * n), make(1001 + 2 * n)
        fa = bootstrap(a, resamples=300, block=block, rng=np.random.default_rng(n))
        fb = bootstrap(b, resamples=300, block=block, rng=np.random.default_rng(n + 100))
        found = compare_entries(
            [Entry("a", "a", "r", {"op": fa}), Entry("b", "b", "r", {"op": fb})]
        )
        alarms += sum(d.significant for d in found.differences if d.metric == "p95")
    return alarms


def test_time_blocks_call_fewer_false_differences_than_operations_one_by_one() -> None:
    in_blocks = false_alarms(wandering)
    one_at_a_time = false_alarms(lambda seed: one_by_one(wandering(seed)), block=1)
    assert one_at_a_time >= 9  # resampling operations alone: autocorrelation fakes certainty
    assert in_blocks <= one_at_a_time * 0.7


def test_without_autocorrelation_false_differences_are_about_one_in_twenty() -> None:
    assert false_alarms(synthetic, pairs_=40) <= 6  # 2 expected; 7 or more: P < 1.3 %


def test_a_stall_lengthens_the_blocks() -> None:
    calm, stalled = synthetic(9), synthetic(9, stall=(20, 35))
    assert block_length(calm) == math.ceil(calm.bins ** (1 / 3))
    assert block_length(stalled) > block_length(calm)


def test_point_estimates_are_the_tables_nearest_rank_percentiles() -> None:
    sample = synthetic(12)
    frame = pd.DataFrame({"name": "hold", "latency_ms": sample.latency_ms})
    expected = nearest_rank(frame, "name", "latency_ms").iloc[0]
    got = observed_figures(sample)
    assert (got["p50"], got["p95"], got["p99"]) == (
        expected["p50_ms"],
        expected["p95_ms"],
        expected["p99_ms"],
    )
    assert got["throughput"] == sample.answered.sum() / SECONDS


def test_each_block_resample_fills_the_window_exactly() -> None:
    counts = block_multiplicities(61, 5, 100, np.random.default_rng(0))
    assert counts.shape == (100, 61) and (counts.sum(axis=1) == 61).all()


def test_a_variant_is_paired_with_its_namesake_in_the_first_run() -> None:
    def e(run: str, name: str) -> Entry:
        return Entry(f"{run}/{name}", name, run, {})

    entries = [e("r1", "naive"), e("r1", "gate"), e("r2", "naive"), e("r2", "gate")]
    assert [(a.label, b.label) for a, b in pairs(entries)] == [
        ("r1/naive", "r2/naive"),
        ("r1/gate", "r2/gate"),
    ]
    assert [(a.label, b.label) for a, b in pairs(entries[:2])] == [("r1/naive", "r1/gate")]


def test_runs_on_different_machines_and_code_are_compared_with_a_warning() -> None:
    def run(run_id: str, cores: int, sha: str) -> Run:
        manifest = {
            "run_id": run_id,
            "scenario": {"name": "double-booking"},
            "machine": {"cores": cores, "cpu_model": "x"},
            "code": {"git_sha": sha, "dirty": False},
        }
        return Run(Path(run_id), manifest, [])

    warnings = provenance_warnings([run("a", 2, "abc"), run("b", 8, "def")])
    assert len(warnings) == 2
    assert warnings[0].startswith("The runs differ in machine (a: cores=2, cpu_model=x; b: cores=8")
    assert "code version" in warnings[1] and "abc" in warnings[1] and "def" in warnings[1]
    assert provenance_warnings([run("a", 2, "abc"), run("b", 2, "abc")]) == []


@pytest.mark.parametrize("seconds", [0.0, -1.0])
def test_a_sample_needs_a_window_with_a_length(seconds: float) -> None:
    with pytest.raises(ValueError, match="window"):
        Sample(np.array([]), np.array([]), np.array([]), np.array([]), 10.0, 10.0 + seconds)


def test_one_variant_across_two_runs_is_named_by_its_runs() -> None:
    a = Entry("x", "naive", "20240101-000000-double-booking", {})
    b = Entry("y", "naive", "20240102-000000-double-booking", {})
    fast, slow = synthetic(20, median_ms=10), synthetic(21, median_ms=40)
    a.figures["hold"] = bootstrap(slow, rng=np.random.default_rng(1))
    b.figures["hold"] = bootstrap(fast, rng=np.random.default_rng(2))
    p95 = next(d for d in compare_entries([a, b]).differences if d.metric == "p95")
    assert p95.sentence.startswith("p95 of hold (naive) is ")
    assert "× lower in 20240102-000000 than in 20240101-000000 (95 % CI" in p95.sentence


def test_variants_run_on_a_busy_machine_are_compared_with_a_warning(tmp_path: Path) -> None:
    from reports.comparison import contention_warnings
    from reports.rundir import load_run
    from tests.support.run_dirs import VariantSpec, write_run

    def spec(name: str, other_cores: float) -> VariantSpec:
        machine = {"cores": 2, "other_cpu_cores_mean": other_cores}
        return VariantSpec(name, summary={"machine": machine})

    run = load_run(write_run(tmp_path, [spec("calm", 0.1), spec("busy", 1.6)]))
    (warning,) = contention_warnings([(v.name, run, v) for v in run.variants])
    assert "busy: 1.60 of 2 cores" in warning and "calm" not in warning
