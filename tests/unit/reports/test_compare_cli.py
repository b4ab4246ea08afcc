"""``ticketlab compare``: the sentences of a comparison on the terminal, and the page with
the variants at a glance and the differences."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from scenarios.cli import main
from tests.support.run_dirs import T0, VariantSpec, op, write_run

SECONDS = 60


def holds(median_ms: float, seed: int, per_second: int = 20) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [
        op("hold", second + rng.random(), median_ms * rng.lognormvariate(0, 0.4))
        for second in range(SECONDS)
        for _ in range(per_second)
    ]


def run_dir(root: Path, run_id: str, medians: dict[str, float], **manifest: object) -> Path:
    summary = {"warmup_s": 0, "load_start": T0, "load_end": T0 + SECONDS}
    specs = [
        VariantSpec(name, records=holds(median, seed), summary=summary)
        for seed, (name, median) in enumerate(medians.items())
    ]
    return write_run(root, specs, run_id=run_id, **manifest)


def test_compare_says_which_differences_between_variants_are_real(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_dir(tmp_path, "r1", {"naive": 40.0, "redis-gate": 10.0})
    assert main(["compare", str(run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(
        line.startswith("p95 of hold is ") and "× lower with redis-gate than with naive" in line
        for line in lines
    ), lines
    page = Path(lines[-1].removeprefix("report: "))
    html = page.read_text()
    assert '<h2 id="differences">Differences</h2>' in html
    assert 'alt="variants at a glance"' in html
    assert "comparisons differ significantly; largest:" in html


def test_two_runs_of_one_setup_compare_variant_by_variant_without_a_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_dir(tmp_path, "r1", {"naive": 40.0})
    second = run_dir(tmp_path, "r2", {"naive": 40.0}, machine={"cores": 8, "cpu_model": "Other"})
    assert main(["compare", str(first), str(second), "--out", str(tmp_path / "c.html")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("warning: The runs differ in machine (r1: cores=2")
    assert "hold (naive): no significant difference between r2 and r1 in throughput, p50" in (
        "\n".join(lines)
    )
    assert lines[-1] == f"report: {tmp_path / 'c.html'}"


def test_compare_names_a_path_that_is_not_a_run_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(tmp_path / "nowhere")]) == 2
    assert str(tmp_path / "nowhere") in capsys.readouterr().err
