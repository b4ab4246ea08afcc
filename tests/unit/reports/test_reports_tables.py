"""The report's numbers: exact percentiles, the warm-up left out, errors by kind."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pandas as pd
import pytest

from reports import tables
from reports.rundir import load_run
from tests.support.run_dirs import (
    T0,
    WARMUP_S,
    XSS,
    VariantSpec,
    naive_spec,
    op,
    standard_run,
    write_run,
)


@pytest.fixture
def run(tmp_path: Path):
    return load_run(standard_run(tmp_path))


def by_operation(table: pd.DataFrame) -> dict[str, dict]:
    return {row["operation"]: row for row in table.to_dict("records")}


def test_percentiles_are_exact_nearest_rank(run) -> None:
    naive, conditional = run.variants
    rows = by_operation(tables.operation_table(naive))
    assert rows["hold"]["p50_ms"] == pytest.approx(100, abs=1e-3)
    assert rows["hold"]["p95_ms"] == pytest.approx(190, abs=1e-3)
    assert rows["hold"]["p99_ms"] == pytest.approx(198, abs=1e-3)
    assert rows["browse"]["p50_ms"] == pytest.approx(1050, abs=1e-3)
    assert rows["browse"]["p99_ms"] == pytest.approx(1099, abs=1e-3)
    other = by_operation(tables.operation_table(conditional))
    assert [other["hold"][f"p{p}_ms"] for p in (50, 95, 99)] == pytest.approx(
        [50, 95, 99], abs=1e-3
    )


def test_warmup_samples_are_excluded(run) -> None:
    naive = run.variants[0]
    window = tables.window_of(naive)
    assert window.warmup_end == pytest.approx(T0 + WARMUP_S)
    rows = by_operation(tables.operation_table(naive, window))
    assert rows["hold"]["count"] == 200  # not the 20 warm-up holds
    assert rows["hold"]["max_ms"] == pytest.approx(200, abs=1e-3)  # not 5000
    assert rows[tables.ALL]["count"] == 300


def test_counts_and_throughput_follow_the_slo_rules(run) -> None:
    rows = by_operation(tables.operation_table(run.variants[0]))
    hold = rows["hold"]
    assert hold["refused"] == 20  # i % 10 == 3 → 409, expected, not an error
    assert hold["errors"] == 8  # i % 25 == 7 → 503
    assert hold["ok"] == 200 - 20 - 8
    assert hold["error_rate"] == pytest.approx(8 / 200)
    # Window: end of warm-up to the last end (the last browse, at 10 + 99 × 0.9 + 1.1 s).
    span = 99 * 0.9 + 1.1
    assert hold["throughput_per_s"] == pytest.approx((200 - 8) / span, rel=1e-6)


def test_latency_counts_from_the_intended_start(tmp_path: Path) -> None:
    late = op("pay", 20, 10)
    late["intended_start"] = late["start"] - 0.5  # queued 500 ms in the generator
    run = load_run(write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1), late])]))
    rows = by_operation(tables.operation_table(run.variants[0]))
    assert rows["pay"]["max_ms"] == pytest.approx(510, abs=1e-3)


def test_nearest_rank_agrees_with_the_slo_checks() -> None:
    slo = pytest.importorskip("scenarios.checks.slo")
    rng = random.Random(3)
    for n in (1, 2, 3, 7, 10, 99, 100, 101, 1000, 1234):
        values = [rng.uniform(0, 1000) for _ in range(n)]
        frame = pd.DataFrame({"g": "x", "v": values})
        ours = tables.nearest_rank(frame, "g", "v", (0, 29, 50, 95, 99, 99.9, 100))
        for p in (0, 29, 50, 95, 99, 99.9, 100):
            assert ours.loc["x", f"p{p:g}_ms"] == slo.percentile(values, p), (n, p)


def test_nearest_rank_by_hand() -> None:
    frame = pd.DataFrame({"g": ["a"] * 4 + ["b"], "v": [4.0, 1.0, 3.0, 2.0, 9.0]})
    result = tables.nearest_rank(frame, "g", "v", (25, 50, 100))
    assert result.loc["a"].tolist() == [1.0, 2.0, 4.0]
    assert result.loc["b"].tolist() == [9.0, 9.0, 9.0]


def test_errors_by_kind_with_a_sample_body(run) -> None:
    errors = tables.error_table(run.variants[0])
    assert errors["kind"].tolist() == ["503 overloaded"]
    row = errors.iloc[0]
    assert (row["operation"], row["count"], row["status"]) == ("hold", 8, 503)
    assert row["sample"] == XSS + " body"  # summary.json's sample wins over the op's reason
    # Without summary.json's sample, the operation's own reason stands in.
    errors = tables.error_table(run.variants[1])
    assert errors.iloc[0]["sample"] == XSS


def test_error_kind_falls_back_to_reason_then_status(tmp_path: Path) -> None:
    records = [
        op("pay", 20, 5, "unknown", None, error="timeout"),
        op("pay", 21, 5, "unknown", 500),
        op("pay", 22, 5, "unknown", None),
        op("pay", 23, 5, "unknown", None, problem_type="/problems/taken"),
    ]
    run = load_run(write_run(tmp_path, [VariantSpec("v", records)]))
    kinds = set(tables.error_table(run.variants[0])["kind"])
    assert kinds == {"timeout", "500", "no answer", "- taken"}


def test_headline_row(run) -> None:
    naive, conditional = run.variants
    row = tables.variant_row(naive, "naive")
    assert row["verdict"] == "fail"
    assert (row["seats_held_twice"], row["seats_sold_twice"]) == (0, 1)
    assert (row["holds_granted"], row["holds_refused_taken_or_limit"]) == (172, 20)
    assert row["holds_refused_contention"] == 8
    assert row["operations"] == 300
    # conditional has no counts in summary.json: they come from its measured hold operations.
    other = tables.variant_row(conditional, "conditional")
    assert other["verdict"] == "pass"
    assert other["holds_granted"] == 100 - 10 - 4
    assert other["holds_refused_taken_or_limit"] == 10
    assert other["holds_refused_contention"] == 4
    assert (other["seats_held_twice"], other["seats_sold_twice"]) == (None, None)


def test_verdict_without_checks_is_unknown(tmp_path: Path) -> None:
    run = load_run(write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)])]))
    assert tables.variant_verdict(run.variants[0]) == "unknown"
    assert tables.combine(["pass", "pass"]) == "pass"
    assert tables.combine(["pass", "unknown"]) == "unknown"
    assert tables.combine(["unknown", "fail"]) == "fail"


def test_empty_variant_gives_empty_tables(tmp_path: Path) -> None:
    run = load_run(write_run(tmp_path, [VariantSpec("v", None)]))
    variant = run.variants[0]
    assert tables.operation_table(variant).empty
    assert tables.error_table(variant).empty
    row = tables.variant_row(variant, "v")
    assert row["operations"] is None
    assert math.isclose(row["warmup_s"], 0.0)


def test_agrees_with_the_runners_summary(tmp_path: Path) -> None:
    """The report recomputes what scenarios/summary.py wrote; the two must not disagree."""
    summary_module = pytest.importorskip("scenarios.summary")
    history_module = pytest.importorskip("scenarios.history")
    records = naive_spec().records
    history = history_module.History.from_jsonl([json.dumps(r) for r in records])
    window = summary_module.measured_window(history, WARMUP_S, (T0, T0))
    _, summary = summary_module.summarize(history, window)
    summary = json.loads(json.dumps(summary))  # as the file holds it
    run = load_run(write_run(tmp_path, [VariantSpec("v", records, summary=summary)]))
    variant = run.variants[0]
    assert tables.window_of(variant).end == window.load_end
    rows = by_operation(tables.operation_table(variant))
    for name, entry in summary["operations"].items():
        assert rows[name]["count"] == entry["count"]
        for p in tables.PERCENTILES:
            assert rows[name][f"p{p}_ms"] == pytest.approx(entry[f"p{p}_ms"], abs=1e-3)
    errors = tables.error_table(variant)
    written = {(op, kind) for op, e in summary["operations"].items() for kind in e["error_kinds"]}
    assert set(zip(errors["operation"], errors["kind"], strict=True)) <= written


def test_error_kinds_work_when_no_operation_has_a_problem_type() -> None:
    import numpy as np
    import pandas as pd

    from reports.tables import error_kinds

    ops = pd.DataFrame(
        {"status": [np.nan, 500.0], "problem_type": [np.nan, np.nan], "error": ["timeout", None]}
    )
    assert list(error_kinds(ops)) == ["timeout", "500"]
