"""The read, seeding and report measurements of ``nox -s bench`` on the tiny size: every read
measured on both event loops against /healthz, the statuses it was meant to get, and the
ratios the files say. No figure is asserted, only that what was measured is what is written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scenarios.bench import registry
from scenarios.bench.context import SIZES, BenchContext
from scenarios.bench.http_load import HttpLoad
from scenarios.bench.lab import BenchLab
from scenarios.bench.measurements.reads import TARGETS
from scenarios.bench.run import new_bench_dir, run_bench
from scenarios.stack.paths import LabPaths
from service.config import EVENT_LOOPS, Settings


@pytest.fixture(scope="module")
def rows(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    root = tmp_path_factory.mktemp("bench")
    out = new_bench_dir(root / "runs")
    lab = BenchLab.on(LabPaths.at(root / "lab"), settings, out)
    try:
        ctx = BenchContext(SIZES["tiny"], lab, HttpLoad.detect(out / "scripts"), out, log=print)
        selected = registry.select(registry.load_all(), ["reads", "seeding", "report"])
        result = run_bench(selected, ctx, {"started_at": "test"})
    finally:
        lab.close()
    assert result.errors == {}
    return json.loads((out / "bench.json").read_text())["rows"]


def test_every_read_is_measured_on_both_loops_against_healthz(rows: list[dict[str, Any]]) -> None:
    reads = [r for r in rows if r["measurement"] == "reads"]
    assert [r["variant"] for r in reads] == [
        f"{read} ({loop})" for loop in EVENT_LOOPS for read in TARGETS
    ]
    for row in reads:
        assert row["ratio"] == pytest.approx(row["value"] / row["baseline"])
        assert row["baseline"] == pytest.approx(sum(row["extra"]["healthz"]) / 2)
        wanted = "status_304" if row["extra"]["read"].endswith("304") else "status_200"
        counts = row["extra"]["counts"]
        assert counts.get(wanted, 0) > 0
        assert set(counts) == {wanted}, f"{row['variant']} got {counts}"


def test_seeding_and_the_report_say_how_much_they_did(rows: list[dict[str, Any]]) -> None:
    seeding = next(r for r in rows if r["measurement"] == "seeding")
    assert seeding["extra"]["seats"] == 26 * SIZES["tiny"].rows * 100
    assert seeding["value"] == pytest.approx(
        seeding["extra"]["seats"] / seeding["extra"]["seconds"]
    )
    report = next(r for r in rows if r["measurement"] == "report")
    assert report["extra"]["operations"] == 10_000
    assert report["extra"]["page_mb"] > 0
