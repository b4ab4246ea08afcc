"""Per-variant numbers: exact percentiles, warm-up left out, errors grouped by kind, cut-off
requests apart, the window from the first request sent to the last answer received."""

from scenarios.history import History, Operation, Outcome
from scenarios.summary import Window, measured_window, summarize

START = 1_700_000_000.0


def op(at: float, latency: float, outcome: Outcome = Outcome.OK, **kw: object) -> Operation:
    return Operation(
        name=kw.pop("name", "hold"),  # type: ignore[arg-type]
        process="user-1",
        start=START + at,
        end=START + at + latency,
        outcome=outcome,
        **kw,  # type: ignore[arg-type]
    )


def test_percentiles_are_exact_and_leave_out_the_warm_up() -> None:
    warm = [op(0, 9.0)]
    measured = [op(2 + i * 0.01, (i + 1) / 1000) for i in range(100)]
    history = History([*warm, *measured])
    _, summary = summarize(history, Window(START, START + 12, 2))
    hold = summary["operations"]["hold"]
    assert hold["count"] == 100
    assert (hold["p50_ms"], hold["p95_ms"], hold["p99_ms"]) == (50.0, 95.0, 99.0)
    assert hold["throughput_per_s"] == 10.0


def test_errors_are_grouped_by_kind_and_refusals_are_not_errors() -> None:
    taken = "https://x/problems/seats-taken"
    ops = [
        op(1, 0.01),
        op(1.1, 0.01, Outcome.FAIL, status=409, problem_type=taken),
        op(1.2, 0.01, Outcome.FAIL, status=409, problem_type=taken),
        op(1.3, 0.01, Outcome.UNKNOWN, error="timeout"),
        op(1.4, 0.01, Outcome.FAIL, status=503, problem_type="https://x/problems/contention"),
    ]
    _, summary = summarize(History(ops), Window(START, START + 5, 0))
    hold = summary["operations"]["hold"]
    assert (hold["ok"], hold["refused"], hold["errors"], hold["unknown"]) == (1, 2, 2, 1)
    assert hold["error_kinds"] == {
        "timeout": {"count": 1, "sample": "timeout"},
        "503 contention": {"count": 1, "sample": "https://x/problems/contention"},
    }
    assert summary["holds_granted"] == 1
    assert summary["holds_refused_taken_or_limit"] == 2
    assert summary["holds_refused_contention"] == 1


def test_cut_off_operations_are_counted_apart_from_errors_and_percentiles() -> None:
    ops = [op(1, 0.010), op(1.1, 0.020), op(1.2, 5.0, Outcome.CUT_OFF)]
    _, summary = summarize(History(ops), Window(START, START + 2, 0))
    hold = summary["operations"]["hold"]
    assert (hold["count"], hold["errors"], hold["cut_off"]) == (2, 0, 1)
    assert hold["error_rate"] == 0.0 and hold["p99_ms"] == 20.0
    assert summary["cut_off"] == 1


def test_the_window_runs_from_the_first_request_sent_to_the_last_answer() -> None:
    ops = [op(1, 0.5), op(2, 1.0), op(2.5, 9.0, Outcome.CUT_OFF)]
    window = measured_window(History(ops), 0.5, (START, START + 60))
    assert (window.load_start, window.load_end) == (START + 1, START + 3)
    assert window.seconds == 1.5


def test_a_sign_in_counts_each_of_its_completed_requests() -> None:
    ops = [
        op(1, 0.5, name="sign_in", requests=3),
        op(2, 0.5, Outcome.CUT_OFF, name="sign_in", requests=2),
    ]
    _, summary = summarize(History(ops), Window(START, START + 2, 0))
    assert summary["all"]["requests_completed"] == 3 + 1
    assert summary["requests_per_s"] == 2.0


def test_stats_are_per_second_and_operation_after_warm_up() -> None:
    ops = [op(0.1, 0.01), op(1.2, 0.02), op(1.5, 0.03, name="reserve")]
    stats, _ = summarize(History(ops), Window(START, START + 2, 1))
    assert [(r["second"], r["operation"], r["count"]) for r in stats] == [
        (1, "hold", 1),
        (1, "reserve", 1),
    ]
