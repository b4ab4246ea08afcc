"""Every figure of issue 9 on a hand-built run directory with known answers: the runner's
summary (scenarios/summary.py) and the report (reports/tables.py) must both find them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiling.machine import MachineSample, machine_load
from profiling.sampler import Sample, generator_bottleneck, lab_cpu
from reports import tables
from reports.build import build_report
from reports.rundir import load_run
from scenarios.history import History
from scenarios.load.routes import compare
from scenarios.summary import measured_window, summarize
from tests.support.run_dirs import KNOWN, KNOWN_WARMUP_S, T0, VariantSpec, known_records, write_run


def history() -> History:
    return History.from_jsonl([json.dumps(r) for r in known_records()])


def summary() -> dict:
    window = measured_window(history(), KNOWN_WARMUP_S, (0.0, 0.0))
    return json.loads(json.dumps(summarize(history(), window)[1]))


def known_run(tmp_path: Path, with_summary: bool = True) -> Path:
    written = summary() if with_summary else {"warmup_s": KNOWN_WARMUP_S}
    return write_run(tmp_path, [VariantSpec("v", known_records(), summary=written)])


def test_the_summary_window_runs_from_the_first_request_to_the_last_answer() -> None:
    window = summary()["window"]
    assert (window["load_start"], window["load_end"]) == (KNOWN["load_start"], KNOWN["load_end"])
    assert window["warmup_end"] == KNOWN["warmup_end"]
    assert window["seconds"] == pytest.approx(KNOWN["seconds"])


@pytest.mark.parametrize(
    "figure",
    ["count", "ok", "refused", "errors", "unknown", "cut_off", "requests_completed"],
)
def test_the_summary_counts_every_class_once(figure: str) -> None:
    assert summary()["all"][figure] == KNOWN[figure]


@pytest.mark.parametrize(
    "figure", ["error_rate", "throughput_per_s", "requests_per_s", "p50_ms", "p95_ms", "p99_ms"]
)
def test_the_summary_rates_and_percentiles_use_the_window_and_leave_cut_offs_out(
    figure: str,
) -> None:
    assert summary()["all"][figure] == pytest.approx(KNOWN[figure])


def test_the_summary_names_each_kind_of_refused_hold_apart() -> None:
    found = summary()
    for figure in ("holds_granted", "holds_refused_taken_or_limit", "holds_refused_contention"):
        assert found[figure] == KNOWN[figure], figure
    assert found["operations"]["hold"]["p50_ms"] == KNOWN["hold_p50_ms"]
    assert "cut off" not in json.dumps(found["operations"]["hold"]["error_kinds"])


@pytest.mark.parametrize("with_summary", [True, False])
def test_the_report_finds_the_same_figures_with_or_without_summary_json(
    tmp_path: Path, with_summary: bool
) -> None:
    variant = load_run(known_run(tmp_path, with_summary)).variants[0]
    window = tables.window_of(variant)
    assert (window.load_start, window.end) == (KNOWN["load_start"], KNOWN["load_end"])
    table = tables.operation_table(variant, window)
    overall = table[table["operation"].eq(tables.ALL)].iloc[0]
    for figure in ("count", "ok", "refused", "errors", "unknown", "cut_off"):
        assert overall[figure] == KNOWN[figure], figure
    for figure in ("error_rate", "throughput_per_s", "p50_ms", "p95_ms", "p99_ms"):
        assert overall[figure] == pytest.approx(KNOWN[figure]), figure
    row = tables.variant_row(variant, "v", window, table)
    for figure in ("holds_granted", "holds_refused_taken_or_limit", "holds_refused_contention"):
        assert row[figure] == KNOWN[figure], figure
    assert row["window_s"] == pytest.approx(KNOWN["seconds"])


def test_cut_off_requests_are_not_among_the_reported_errors(tmp_path: Path) -> None:
    variant = load_run(known_run(tmp_path)).variants[0]
    errors = tables.error_table(variant)
    assert set(errors["kind"]) == {"503 contention", "timeout"}
    assert errors["count"].sum() == KNOWN["errors"]


def test_the_report_states_its_window_and_shows_both_seat_figures(tmp_path: Path) -> None:
    page = build_report(known_run(tmp_path)).read_text()
    assert "from the first request sent to the last answer received" in page
    assert "seats held twice" in page and "seats sold twice" in page
    assert "cut off" in page


def test_client_and_server_counts_are_compared_per_route_against_the_requests_in_flight() -> None:
    metric = 'ticketlab_http_requests_total{{method="{}",route="{}",status="{}"}}'
    samples = {
        metric.format("GET", "/api/v1/concerts", 200): 5.0,
        metric.format("POST", "/api/v1/concerts/{concert_id}/holds", 201): 1.0,
        metric.format("POST", "/api/v1/concerts/{concert_id}/holds", 409): 2.0,
        metric.format("POST", "/api/v1/concerts/{concert_id}/holds", 503): 1.0,
        metric.format("GET", "/auth/login", 302): 2.0,
        metric.format("GET", "/auth/callback", 200): 1.0,
    }
    rows = {r["route"]: r for r in compare(history().operations, samples)}
    hold = rows["POST /api/v1/concerts/{}/holds"]
    # 4 holds answered; the timed-out one and the cut-off one were in flight.
    assert (hold["client_answered"], hold["client_in_flight"], hold["server"]) == (4, 2, 4)
    assert hold["mismatch"] is False
    assert rows["GET /api/v1/concerts"]["mismatch"] is False
    login = rows["GET /auth/login"]
    assert (login["client_answered"], login["server"], login["mismatch"]) == (2, 2, False)
    callback = rows["GET /auth/callback"]
    assert (callback["client_answered"], callback["server"]) == (1, 1)
    reserve = rows["POST /api/v1/holds/{}/reservation"]
    assert (reserve["server"], reserve["mismatch"]) == (0, True)  # one answered, none counted


def test_priming_samples_do_not_count_and_a_saturated_machine_makes_the_generator_suspect() -> None:
    locust = [Sample(T0 + i, "locust", 1, None if i == 0 else 40.0, 0, 0, 1) for i in range(10)]
    busy = [MachineSample(T0 + i, 95.0, 0.0, 0.0, 4.5, 2) for i in range(10)]
    idle = [MachineSample(T0 + i, 30.0, 0.0, 0.0, 0.5, 2) for i in range(10)]
    calm = generator_bottleneck(locust, idle, (T0, T0 + 10))
    assert not calm.saturated and calm.busy_share == 0.0
    assert "of 9 samples" in calm.evidence  # the priming sample is left out
    assert generator_bottleneck(locust, busy, (T0, T0 + 10)).saturated


def test_cpu_that_no_lab_process_used_is_other_work() -> None:
    lab = [Sample(T0 + i, "service", 2, 50.0, 0, 0, 1) for i in range(4)]
    machine = [MachineSample(T0 + i, 75.0, 1.0, 0.0, 3.0, 2) for i in range(4)]
    load = machine_load(machine, lab_cpu(lab), (T0, T0 + 10))
    assert load["other_cpu_cores_mean"] == pytest.approx(1.0)  # 1.5 cores busy, 0.5 the lab's
    assert (load["cpu_percent_mean"], load["load_average_peak"], load["samples"]) == (75.0, 3.0, 4)
