"""``python -m reports``: exit codes and messages, and the reader's errors behind them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reports.__main__ import main
from reports.rundir import RunDirError, load_run
from tests.support.paths import ROOT
from tests.support.run_dirs import VariantSpec, op, small_run, standard_run, write_run


def test_writes_the_report_and_prints_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = small_run(tmp_path)
    assert main([str(run)]) == 0
    assert capsys.readouterr().out.strip() == str(run / "report.html")
    assert (run / "report.html").is_file()


def test_out_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = small_run(tmp_path)
    out = tmp_path / "x.html"
    assert main([str(run), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)


def test_bad_path_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-run"
    assert main([str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_directory_without_manifest_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and "missing" in err


def test_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = small_run(tmp_path, run_id="a")
    b = small_run(tmp_path, run_id="b")
    out = tmp_path / "cmp.html"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "a / naive" in out.read_text()
    assert main(["compare", str(a), str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["compare"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_module_runs_as_a_program(tmp_path: Path) -> None:
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)])])
    done = subprocess.run(
        [sys.executable, "-m", "reports", str(run)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(run / "report.html")
    bad = subprocess.run(
        [sys.executable, "-m", "reports", str(tmp_path / "missing")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert "missing" in bad.stderr


# -- the reader ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [("{broken", "not valid JSON"), ("[1, 2]", "expected a JSON object")],
)
def test_malformed_manifest_is_named(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "manifest.json").write_text(content)
    with pytest.raises(RunDirError) as error:
        load_run(tmp_path)
    assert str(tmp_path / "manifest.json") in str(error.value)
    assert expected in str(error.value)


def test_truncated_last_line_is_dropped(tmp_path: Path) -> None:
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1), op("pay", 1, 2)])])
    path = run / "variants" / "v" / "operations.jsonl"
    path.write_text(path.read_text() + '{"type": "op", "na')  # killed mid-write
    variant = load_run(run).variants[0]
    assert len(variant.ops) == 2
    assert variant.notes == []


def test_bad_line_is_noted_with_its_number(tmp_path: Path) -> None:
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)])])
    path = run / "variants" / "v" / "operations.jsonl"
    path.write_text("\n" + path.read_text() + "garbage\n" + json.dumps(op("pay", 2, 1)) + "\n")
    variant = load_run(run).variants[0]
    assert variant.ops.empty
    assert len(variant.notes) == 1
    assert "operations.jsonl" in variant.notes[0] and "line 3" in variant.notes[0]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"type": "mystery"}, "unknown record type 'mystery'"),
        ({**op("pay", 0, 1), "outcome": "maybe"}, "unknown outcome 'maybe'"),
        ({k: v for k, v in op("pay", 0, 1).items() if k != "end"}, "lacks 'end'"),
    ],
)
def test_invalid_records_are_noted(tmp_path: Path, record: dict, reason: str) -> None:
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1), record])])
    variant = load_run(run).variants[0]
    assert variant.ops.empty
    assert reason in variant.notes[0]


def test_unknown_keys_are_ignored(tmp_path: Path) -> None:
    run = write_run(tmp_path, [VariantSpec("v", [{**op("pay", 0, 1), "new_field": 1}])])
    assert len(load_run(run).variants[0].ops) == 1


def test_variant_names_map_to_safe_directory_names(tmp_path: Path) -> None:
    run = write_run(tmp_path, [VariantSpec("redis-gate", [op("pay", 0, 1)])])
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["variants"] = ["redis gate!"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_run(run)
    assert [v.name for v in loaded.variants] == ["redis gate!"]
    assert len(loaded.variants[0].ops) == 1


def test_format_version_mismatch_is_a_note(tmp_path: Path) -> None:
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)])], format_version=3)
    assert any("format_version 3" in n for n in load_run(run).notes)


def test_time_series_files_are_read(tmp_path: Path) -> None:
    run = load_run(standard_run(tmp_path))
    naive = run.variants[0]
    assert set(naive.resources["role"]) == {"a", "b"}
    assert len(naive.lag) == 90
    assert naive.stats.empty and naive.metrics.empty  # absent: empty frames
    assert naive.faults["kind"].tolist() == ["psp-latency"]
    assert run.variants[1].faults["end"].isna().all()  # still on when the run stopped


def test_stats_and_metrics_are_read(tmp_path: Path) -> None:
    stats = "second,operation,count,ok,refused,errors,unknown,cut_off,p50_ms,p95_ms,p99_ms\n"
    stats += "0,hold,3,2,1,0,0,0,5,9,9\n"
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)], stats=stats)])
    scrape = {"t": 1.0, "target": "http://w1/metrics", "samples": {'up{worker="1"}': 1.0}}
    (run / "variants" / "v" / "metrics.jsonl").write_text(json.dumps(scrape) + "\n")
    variant = load_run(run).variants[0]
    assert variant.stats["count"].tolist() == [3]
    assert variant.metrics.loc[0, 'up{worker="1"}'] == 1.0
    assert variant.metrics.loc[0, "target"] == "http://w1/metrics"
