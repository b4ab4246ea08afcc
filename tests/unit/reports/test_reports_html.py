"""The report page: self-contained, verdicts first, exact numbers, everything escaped."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from reports import build_comparison, build_report
from reports.build import run_labels
from reports.charts import percentile_chart, timeline
from reports.rundir import load_run
from reports.tables import window_of
from tests.support.run_dirs import (
    COUNTEREXAMPLE_SEAT,
    T0,
    XSS,
    VariantSpec,
    op,
    small_run,
    standard_run,
    write_run,
)

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The standard run's page, rendered once for the module: its charts take seconds."""
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


def after(page: str, marker: str) -> str:
    return page[page.index(marker) :]


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
    assert row_cells(after(page, "<h3>Load</h3>"), "naive")[-1] == "10.0"  # warm-up (s)


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


def test_every_table_sits_in_a_box_that_scrolls_sideways(page: str) -> None:
    """A wide table scrolls inside the page instead of pushing past its edge."""
    assert page.count("<table") == len(re.findall(r'<div class="scroll"><table', page)) > 5


def test_the_verdict_matrix_shows_every_variant_against_every_check(page: str) -> None:
    matrix = page[page.index('id="verdicts"') : page.index("</table>")]
    heads = re.findall(r"<th>(.*?)</th>", matrix)
    checks = ["seat-counts-conserved", "no-double-booking", "money-conserved"]
    assert heads == ["variant", "verdict", *checks]
    assert row_cells(matrix, "conditional")[3] == '<span class="badge pass">pass</span>'
    assert row_cells(matrix, "conditional")[4] == "—"  # that check did not run there


def test_settings_every_variant_shares_are_listed_once(tmp_path: Path) -> None:
    common = {"TICKETLAB_HOLD_TTL_S": "900"}
    variants = [
        VariantSpec(name, [op("hold", 0, 1)], settings={**common, "STRATEGY": name})
        for name in ("naive", "conditional")
    ]
    page = build_report(write_run(tmp_path, variants)).read_text()
    settings = after(page, "<h3>Service settings</h3>")
    assert row_cells(settings.replace("<th>", "<td>").replace("</th>", "</td>"), "STRATEGY") == [
        "STRATEGY",
        "naive",
        "conditional",
    ]
    shared = after(settings, "The same in every variant")
    assert "<th>TICKETLAB_HOLD_TTL_S</th><td>900</td></tr>" in shared
    assert "STRATEGY" not in shared


def test_counterexample_times_read_as_seconds_since_the_load_started(tmp_path: Path) -> None:
    example = {"seat_id": 1, "overlap_from": T0 + 12.5, "holds": [10, 11]}
    checks = {
        "verdict": "fail",
        "results": [
            {
                "name": "no-double-booking",
                "verdict": "fail",
                "summary": "1 seat held twice",
                "counterexamples": [example],
            }
        ],
    }
    spec = VariantSpec("v", [op("hold", 0, 1)], checks=checks)
    page = build_report(write_run(tmp_path, [spec])).read_text()
    assert row_cells(page, "1") == ["1", "+12.50 s", "[10, 11]"]
    assert "times in seconds since the load started" in page


def test_answered_requests_per_second_stand_beside_locust_s_own_with_the_difference(
    tmp_path: Path,
) -> None:
    summary = {"requests_per_s": 101.0, "locust": {"requests_per_s": 100.0, "source": "final"}}
    cells = row_cells(after(page_for(tmp_path, summary), "<h3>Load</h3>"), "v")
    assert cells[-4:-1] == ["101.0", "100.0", "+1.00%"]


def test_a_figure_from_locust_s_stale_csv_is_marked(tmp_path: Path) -> None:
    summary = {"requests_per_s": 101.0, "locust": {"requests_per_s": 100.0}}  # before "source"
    page = page_for(tmp_path, summary)
    assert row_cells(after(page, "<h3>Load</h3>"), "v")[-3] == "100.0 †"
    assert "up to a second stale" in page


def page_for(tmp_path: Path, summary: dict) -> str:
    run = write_run(tmp_path, [VariantSpec("v", [op("pay", 0, 1)], summary=summary)])
    return build_report(run).read_text()


def machine(saturated_share: float, other_cores: float) -> dict:
    return {
        "samples": 20,
        "cores": 2,
        "cpu_percent_mean": 95.0,
        "cpu_percent_peak": 100.0,
        "saturated_share": saturated_share,
        "steal_percent_peak": 0.0,
        "load_average_peak": 8.47,
        "other_cpu_cores_mean": other_cores,
    }


def test_a_cpu_bound_generator_is_named_with_its_figures(tmp_path: Path) -> None:
    page = page_for(
        tmp_path,
        {
            "generator_bottleneck": True,
            "generator_evidence": "locust at ≥90% of a core in 40% of 120 samples",
            "generator_cpu_busy_share": 0.4,
            "generator_cpu_peak_percent": 99.0,
            "machine": machine(0.0, 0.1),
        },
    )
    assert "The load generator may have set the pace" in page
    assert row_cells(page, "v", "Locust CPU-bound")[2] == "99.0"
    assert "<code>locust at ≥90% of a core in 40% of 120 samples</code>" in page
    assert "Other work took CPU" not in page


def test_a_busy_machine_is_other_work_not_a_cpu_bound_generator(tmp_path: Path) -> None:
    page = page_for(
        tmp_path,
        {
            "generator_bottleneck": True,
            "generator_cpu_busy_share": 0.0,
            "generator_cpu_peak_percent": 25.0,
            "machine": machine(1.0, 1.51),
        },
    )
    assert "Other work took CPU during the run" in page
    assert "may have set the pace" not in page
    cells = row_cells(page, "v", "machine saturated; other work took CPU")
    assert cells[4:7] == ["100.00%", "1.51", "8.47"]


def test_a_bottleneck_without_figures_shows_the_runner_s_evidence(tmp_path: Path) -> None:
    page = page_for(
        tmp_path, {"generator_bottleneck": True, "generator_evidence": {"locust_cpu": 98.5}}
    )
    assert "The load generator may have set the pace" in page
    assert "generator bottleneck" in page and "locust_cpu" in page


def test_a_calm_run_has_no_machine_warning(tmp_path: Path) -> None:
    page = page_for(tmp_path, {"generator_bottleneck": False, "machine": machine(0.0, 0.1)})
    assert 'class="warn"' not in page


def test_faults_that_could_not_be_applied_are_listed(tmp_path: Path) -> None:
    page = page_for(tmp_path, {"nemesis_errors": ["psp-latency at 30s: <refused>"]})
    assert "some faults could not be applied" in page
    assert "psp-latency at 30s: &lt;refused&gt;" in page


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
    run = small_run(tmp_path)
    out = tmp_path / "elsewhere" / "r.html"
    assert build_report(run, out) == out
    assert out.is_file()
    assert not (run / "report.html").exists()


def test_comparison_puts_runs_side_by_side(tmp_path: Path) -> None:
    first = standard_run(tmp_path, run_id="20240610-061320-double-booking")
    second = standard_run(tmp_path, run_id="20240610-072205-double-booking", verdict="pass")
    out = build_comparison([first, second], tmp_path / "cmp.html")
    page = out.read_text()
    assert page.index('id="verdicts"') < page.index("<h2>Variants</h2>")
    for label in ("061320 / naive", "072205 / conditional"):
        assert label in page
    assert "20240610-072205-double-booking" in page and "labelled <strong>072205</strong>" in page
    assert row_cells(page, "072205 / naive", "hold")[10:13] == ["100.0", "190.0", "198.0"]
    assert "Latency by percentile" in page


def test_a_comparison_is_written_beside_the_first_run_by_default(tmp_path: Path) -> None:
    first = small_run(tmp_path, run_id="20240610-061320-double-booking")
    second = small_run(tmp_path, run_id="20240610-072205-double-booking")
    default = build_comparison([first, second])
    assert default.parent == tmp_path and default.name.startswith("compare-")
    assert "061320 / naive" in default.read_text()


def test_charts_are_png(page: str, tmp_path: Path) -> None:
    # The page's charts: at a glance, latency by percentile, a timeline per variant.
    images = re.findall(r'src="data:image/png;base64,([^"]*)"', page)
    assert len(images) == 4
    assert all(base64.b64decode(image, validate=True).startswith(PNG) for image in images)
    empty = load_run(write_run(tmp_path / "e", [VariantSpec("v", None)])).variants[0]
    assert timeline(empty, window_of(empty), "v") is None
    assert percentile_chart([("v", empty, window_of(empty))]) is None


@pytest.mark.parametrize(
    ("ids", "labels"),
    [
        (["20240610-061320-smoke", "20240611-061320-smoke"], ["20240610", "20240611"]),
        (["20240610-061320-smoke", "20240610-061320-smoke-2"], None),  # shapes differ
        (["a-x", "a-x"], None),  # nothing tells them apart
    ],
)
def test_compared_runs_are_labelled_by_what_tells_their_ids_apart(
    tmp_path: Path, ids: list[str], labels: list[str] | None
) -> None:
    runs = [
        load_run(write_run(tmp_path / str(i), [VariantSpec("v")], run_id=run_id))
        for i, run_id in enumerate(ids)
    ]
    assert run_labels(runs) == (labels or ids)


def test_counterexample_numbers_are_shown_to_a_readable_precision() -> None:
    from reports.html.checks import counterexamples

    result = {"verdict": "fail", "counterexamples": [{"growth": 769162.9421094899, "ci": 0.012345}]}

    html = counterexamples(result)

    assert "769,162.9" in html and "0.01235" in html
    assert "9421094899" not in html


def test_a_load_cut_short_is_warned_under_its_verdict(tmp_path: Path) -> None:
    cut = {"ran_s": 25.0, "planned_s": 120.0, "reason": "The last worker went <missing>"}
    checks = {
        "results": [
            {"name": "load-ran-to-plan", "verdict": "unknown", "summary": "load ended after 25 s"}
        ]
    }
    run = write_run(
        tmp_path,
        [VariantSpec("v", [op("pay", 0, 1)], summary={"load_cut_short": cut}, checks=checks)],
    )
    page = build_report(run).read_text()
    heading = after(page, '<h2 id="verdicts">')
    warning = after(heading, "Load cut short")
    assert heading.index("Load cut short") < heading.index("load-ran-to-plan</strong>")
    assert warning.startswith("Load cut short</strong>: ran 25.0 s of a planned 120.0 s")
    assert "The last worker went &lt;missing&gt;" in warning.split("</div>")[0]


def test_a_load_run_to_plan_has_no_cut_short_warning(tmp_path: Path) -> None:
    assert "Load cut short" not in page_for(tmp_path, {"requests_per_s": 1.0})
