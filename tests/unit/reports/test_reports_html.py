"""The report page: self-contained, verdicts first, exact numbers, everything escaped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reports import build_comparison, build_report
from reports.charts import percentile_chart, timeline
from reports.rundir import load_run
from reports.tables import window_of
from tests.support.run_dirs import (
    COUNTEREXAMPLE_SEAT,
    XSS,
    VariantSpec,
    op,
    standard_run,
    write_run,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    run = standard_run(tmp_path_factory.mktemp("runs"))
    path = build_report(run)
    assert path == run / "report.html"
    return path.read_text(encoding="utf-8")


def row_cells(page: str, *first: str) -> list[str]:
    """The cells of the table row whose first cells are ``first``."""
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)
        if tuple(cells[: len(first)]) == first:
            return cells
    raise AssertionError(f"no row starting {first}")


def test_page_is_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.I)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page and "url(" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) >= 3  # percentile chart + a timeline per variant
    assert all(s.startswith("data:image/png;base64,") for s in sources)


def test_verdicts_come_before_the_tables(page: str) -> None:
    verdicts = page.index('id="verdicts"')
    assert verdicts < page.index("<h2>Variants</h2>") < page.index("<h2>Charts</h2>")
    assert verdicts < page.index("<table")
    # The overall verdict is in the title line, coloured by class.
    assert re.search(r"<h1>[^<]*<span class=\"badge fail big\">fail</span></h1>", page)
    for verdict in ("pass", "fail", "unknown"):
        assert f'class="badge {verdict}"' in page[: page.index("<h2>Variants</h2>")]


def test_exact_percentiles_in_the_table(page: str) -> None:
    cells = row_cells(page, "naive", "hold")
    # count, ok, refused, errors, unknown, cut off, error rate, ops/s, p50, p95, p99, max
    assert cells[2:7] == ["200", "172", "20", "8", "0"]
    assert cells[10:14] == ["100.0", "190.0", "198.0", "200.0"]
    assert row_cells(page, "naive", "browse")[10:13] == ["1,050.0", "1,095.0", "1,099.0"]
    assert row_cells(page, "conditional", "hold")[10:13] == ["50.0", "95.0", "99.0"]


def test_warmup_is_excluded(page: str) -> None:
    assert "5,000.0" not in page  # the warm-up holds' latency
    assert row_cells(page, "naive", "(all)")[2] == "300"
    assert row_cells(page, "naive")[-1] == "10.0"  # warm-up excluded (s)


def test_failed_check_shows_its_counterexamples(page: str) -> None:
    check = page.index("<strong>no-double-booking</strong>")
    details = page.index("<details open>", check)
    assert details < page.index(f"<td>{COUNTEREXAMPLE_SEAT}</td>", details)
    assert "<td>[7, 9]</td>" in page
    assert "not settled: payments" in page


def test_html_in_error_bodies_is_escaped(page: str) -> None:
    assert XSS not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page


def test_manifest_and_rerun_command(page: str) -> None:
    for text in ("Test CPU @ 2.0GHz", "11.4.2-MariaDB", "TICKETLAB_CLAIM_STRATEGY"):
        assert text in page
    rerun = page.index("<h2>Rerun</h2>")
    assert "ticketlab run double-booking --seed 7 --users 50" in page[rerun:]


def test_generator_bottleneck_warning(tmp_path: Path) -> None:
    summary = {"generator_bottleneck": True, "generator_evidence": {"locust_cpu": 98.5}}
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)], summary=summary)])
    page = build_report(run).read_text()
    assert "the load generator was the bottleneck" in page
    assert "locust_cpu" in page
    summary = {
        "generator_bottleneck": True,
        "generator_evidence": "locust at ≥90% of a core in 40% of 120 samples",
        "nemesis_errors": ["psp-latency at 30s: <refused>"],
    }
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)], summary=summary)], run_id="r2")
    page = build_report(run).read_text()
    assert "Evidence: <code>locust at ≥90% of a core in 40% of 120 samples</code>" in page
    assert "some faults could not be applied" in page
    assert "psp-latency at 30s: &lt;refused&gt;" in page
    ok = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)])], run_id="other")
    assert "the load generator was the bottleneck" not in build_report(ok).read_text()


def test_missing_optional_files_do_not_break_the_report(tmp_path: Path) -> None:
    run = write_run(
        tmp_path,
        [VariantSpec("empty", None), VariantSpec("ops-only", [op("pay", 0, 1)])],
        verdict=None,
        rerun_command=None,
        command=None,
        machine=None,
    )
    (run / "variants" / "ghost").mkdir()  # a variant the manifest does not list
    page = build_report(run).read_text()
    assert re.search(r'<h3><span class="badge unknown">unknown</span> empty</h3>', page)
    assert "ghost" in page
    assert "No check results recorded" in page
    assert "records no rerun command" in page


def test_unreadable_file_is_noted_not_fatal(tmp_path: Path) -> None:
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)])])
    (run / "variants" / "v" / "checks.json").write_text("{not json")
    page = build_report(run).read_text()
    assert "checks.json: unreadable" in page


def test_interrupted_run_is_flagged(tmp_path: Path) -> None:
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)])], status="interrupted")
    assert "<strong>interrupted</strong>" in build_report(run).read_text()


def test_out_option_writes_elsewhere(tmp_path: Path) -> None:
    run = standard_run(tmp_path)
    out = tmp_path / "elsewhere" / "r.html"
    assert build_report(run, out) == out
    assert out.is_file()
    assert not (run / "report.html").exists()


def test_comparison_puts_runs_side_by_side(tmp_path: Path) -> None:
    first = standard_run(tmp_path, run_id="run-a")
    second = standard_run(tmp_path, run_id="run-b", verdict="pass")
    out = build_comparison([first, second], tmp_path / "cmp.html")
    page = out.read_text()
    assert page.index('id="verdicts"') < page.index("<h2>Variants</h2>")
    for label in ("run-a / naive", "run-b / conditional"):
        assert label in page
    assert row_cells(page, "run-b / naive", "hold")[10:13] == ["100.0", "190.0", "198.0"]
    assert "Latency by percentile" in page
    default = build_comparison([first, second])
    assert default.parent == tmp_path and default.name.startswith("compare-")


def test_charts_are_png(tmp_path: Path) -> None:
    run = load_run(standard_run(tmp_path))
    naive = run.variants[0]
    window = window_of(naive)
    assert timeline(naive, window, "naive").startswith(PNG)
    assert percentile_chart([("naive", naive, window)]).startswith(PNG)
    empty = load_run(write_run(tmp_path / "e", [VariantSpec("v", None)])).variants[0]
    assert timeline(empty, window_of(empty), "v") is None
    assert percentile_chart([("v", empty, window_of(empty))]) is None
