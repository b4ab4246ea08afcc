"""Per-variant numbers: exact percentiles, warm-up left out, errors grouped by kind."""

from scenarios.history import History, Operation, Outcome
from scenarios.summary import summarize

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
    warm = [op(0.5, 9.0)]
    measured = [op(2 + i * 0.01, (i + 1) / 1000) for i in range(100)]
    _, summary = summarize(
        History([*warm, *measured]), load_start=START, load_end=START + 12, warmup_s=2
    )
    hold = summary["operations"]["hold"]
    assert hold["count"] == 100
    assert (hold["p50_ms"], hold["p95_ms"], hold["p99_ms"]) == (50.0, 95.0, 99.0)
    assert hold["throughput_per_s"] == 10.0


def test_refusals_are_grouped_by_problem_type_with_a_sample() -> None:
    ops = [
        op(1, 0.01),
        op(1.1, 0.01, Outcome.FAIL, status=409, problem_type="https://x/problems/seats-taken"),
        op(1.2, 0.01, Outcome.FAIL, status=409, problem_type="https://x/problems/seats-taken"),
        op(1.3, 0.01, Outcome.UNKNOWN, error="timeout"),
    ]
    _, summary = summarize(History(ops), load_start=START, load_end=START + 5, warmup_s=0)
    errors = summary["operations"]["hold"]["errors"]
    assert errors["409 seats-taken"]["count"] == 2
    assert errors["timeout"] == {"count": 1, "sample": "timeout"}
    assert (summary["holds_granted"], summary["holds_refused"]) == (1, 2)


def test_stats_are_per_second_and_operation() -> None:
    ops = [op(0.1, 0.01), op(0.2, 0.02), op(1.5, 0.03, name="reserve")]
    stats, _ = summarize(History(ops), load_start=START, load_end=START + 2, warmup_s=0)
    assert [(r["second"], r["operation"], r["requests"]) for r in stats] == [
        (0, "hold", 2),
        (1, "reserve", 1),
    ]
