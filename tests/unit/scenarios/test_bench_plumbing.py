"""The bench's pure parts: selecting measurements, ratios, the table, wrk's report line."""

from __future__ import annotations

import os

import pytest

from scenarios.bench import output, registry
from scenarios.bench.http_load import LoadResult, parse_wrk_report
from scenarios.bench.measurements.holds import cpu_note, cpu_share
from scenarios.bench.rows import Row


def test_every_measurement_module_registers_itself() -> None:
    known = registry.load_all()
    assert "holds" in known
    assert all(m.description for m in known.values())


def test_an_unknown_measurement_is_named_with_the_known_ones() -> None:
    known = registry.load_all()
    with pytest.raises(ValueError, match=r"unknown bench measurement 'nope'; known: .*holds"):
        registry.select(known, ["holds", "nope"])
    assert [m.name for m in registry.select(known, ["holds", "holds"])] == ["holds"]
    assert registry.select(known, []) == list(known.values())


def test_a_ratio_is_derived_from_value_and_baseline() -> None:
    assert Row("m", "v", 30.0, baseline=120.0).ratio == 0.25
    assert Row("m", "v", 30.0).ratio is None
    assert Row("m", "v", 30.0, baseline=0.0).ratio is None
    assert Row("m", "v", 30.0, baseline=120.0).to_dict()["ratio"] == 0.25


def test_the_table_shows_value_baseline_and_ratio() -> None:
    rows = [
        Row("holds", "bare", 1264.0, notes="a|b"),
        Row("holds", "conditional", 158.0, baseline=1264.0, baseline_name="bare"),
    ]
    lines = output.table(rows).splitlines()
    assert lines[0] == "| measurement | variant | value | baseline | ratio | notes |"
    assert lines[2] == "| holds | bare | 1,264 /s | – | – | a/b |"
    assert lines[3] == "| holds | conditional | 158 /s | 1,264 /s (bare) | 0.12× |  |"


def test_wrk_report_line_is_read_back() -> None:
    out = 'Running 1s test\nBENCH {"requests": 10, "counts": {"granted": 4}}\n'
    assert parse_wrk_report(out) == {"requests": 10, "counts": {"granted": 4}}
    with pytest.raises(RuntimeError, match="no BENCH line"):
        parse_wrk_report("Running 1s test\n")


def test_rates_are_counts_over_seconds() -> None:
    result = LoadResult("wrk", 2.0, 10, 0, 1.0, {"released": 3})
    assert result.rate() == 5.0
    assert result.rate("released") == 1.5
    assert result.rate("missing") == 0.0


def test_a_process_cpu_share_is_read_from_the_kernel_and_told_per_second_of_run() -> None:
    own = cpu_share(os.getpid())
    assert own is not None and own[0] > 0 and own[1] >= 0
    assert cpu_share(None) is None and cpu_share(2**22 + 1) is None  # no such process
    note = cpu_note((1.0, 2.0), (3.0, 8.0), 8.0)
    assert note == "; worker on a CPU 25% of the run, waiting for one 75%"
    assert cpu_note(None, (3.0, 8.0), 8.0) == "" == cpu_note((1.0, 2.0), (3.0, 8.0), 0.0)
