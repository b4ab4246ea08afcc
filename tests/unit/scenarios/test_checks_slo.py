"""SLOs: exact percentiles, errors without expected refusals, throughput, warm-up."""

from __future__ import annotations

import pytest

from scenarios.checks.catalog import check_slo
from scenarios.checks.result import Verdict
from scenarios.checks.run import run_check
from scenarios.checks.slo import Slo, measure, percentile, slo_check
from scenarios.checks.snapshot import Evidence, MeasuredWindow
from scenarios.history import History, Operation, Outcome


def op(
    at: float,
    latency_ms: float,
    outcome: Outcome = Outcome.OK,
    status: int | None = 201,
    name: str = "hold",
) -> Operation:
    return Operation(
        name=name, process="u", start=at, end=at + latency_ms / 1000, outcome=outcome, status=status
    )


def history(*ops: Operation) -> History:
    return History.of(ops)


# ---- percentiles ---------------------------------------------------------------------


def test_nearest_rank_percentiles_of_one_to_a_hundred_are_the_ranks() -> None:
    samples = [float(i) for i in range(100, 0, -1)]

    assert [percentile(samples, p) for p in (50, 95, 99, 100)] == [50, 95, 99, 100]


def test_nearest_rank_percentile_is_an_observed_sample_not_an_interpolation() -> None:
    samples = [10.0, 20.0, 30.0, 40.0]

    assert percentile(samples, 50) == 20.0
    assert percentile(samples, 51) == 30.0
    assert percentile(samples, 0) == 10.0


def test_a_single_sample_is_every_percentile() -> None:
    assert percentile([7.0], 1) == percentile([7.0], 99) == 7.0


def test_a_percentile_of_no_samples_is_an_error() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)


# ---- measuring -----------------------------------------------------------------------


def test_latency_counts_from_the_intended_start_when_there_is_one() -> None:
    late = Operation(
        name="hold",
        process="u",
        intended_start=10.0,
        start=12.0,
        end=12.5,
        outcome=Outcome.OK,
        status=201,
    )

    stats = measure(history(late), "hold")

    assert stats.p50_ms == pytest.approx(2500)


def test_operations_scheduled_during_warm_up_are_left_out() -> None:
    ops = [op(5.0, 9000), op(15.0, 100), op(16.0, 200)]

    stats = measure(history(*ops), "hold", MeasuredWindow(warmup_end=10.0))

    assert stats.count == 2
    assert stats.max_ms == pytest.approx(200)


def test_warm_up_is_judged_by_intended_start_not_actual_start() -> None:
    queued = Operation(
        name="hold",
        process="u",
        intended_start=9.0,
        start=11.0,
        end=11.1,
        outcome=Outcome.OK,
        status=201,
    )

    assert measure(history(queued), "hold", MeasuredWindow(warmup_end=10.0)).count == 0


def test_expected_409s_are_neither_errors_nor_successes() -> None:
    ops = [
        op(1, 10),
        op(2, 10, Outcome.FAIL, 409),
        op(3, 10, Outcome.FAIL, 503),
        op(4, 10, Outcome.UNKNOWN, None),
    ]

    stats = measure(history(*ops), "hold")

    assert (stats.ok, stats.expected, stats.errors, stats.unknown) == (1, 1, 2, 1)
    assert stats.error_rate == pytest.approx(0.5)
    assert stats.success_rate == pytest.approx(0.25)


def test_throughput_is_non_error_operations_per_second_of_the_measured_window() -> None:
    ops = [op(10 + i, 10) for i in range(20)] + [op(12, 10, Outcome.FAIL, 503)]

    stats = measure(history(*ops), "hold", MeasuredWindow(warmup_end=10.0, end=30.0))

    assert stats.window_s == pytest.approx(20)
    assert stats.throughput == pytest.approx(1.0)


def test_other_operations_are_not_measured() -> None:
    stats = measure(history(op(1, 10), op(2, 10, name="pay")), "pay")

    assert stats.count == 1


# ---- thresholds ----------------------------------------------------------------------


def test_an_slo_within_every_threshold_passes_with_its_numbers() -> None:
    ops = [op(float(i), 100 + i) for i in range(100)]
    slo = Slo("hold", p95_ms=5000, p99_ms=6000, max_error_rate=0.15, min_success_rate=0.7)

    result = slo_check(history(*ops), slo)

    assert result.verdict is Verdict.PASS
    assert result.name == "slo:hold"
    assert result.metrics["p95_ms"] == pytest.approx(194)
    assert result.metrics["count"] == 100


def test_a_p95_above_its_limit_fails_naming_the_breach() -> None:
    ops = [op(float(i), 1000 if i < 90 else 9000) for i in range(100)]

    result = slo_check(history(*ops), Slo("hold", p95_ms=5000))

    assert result.verdict is Verdict.FAIL
    [breach] = result.counterexamples
    assert breach["threshold"] == "p95_ms"
    assert breach["measured"] == pytest.approx(9000)


def test_a_hold_success_rate_below_its_floor_fails() -> None:
    ops = [op(1, 10), op(2, 10, Outcome.FAIL, 409), op(3, 10, Outcome.FAIL, 409)]

    result = slo_check(history(*ops), Slo("hold", min_success_rate=0.7, max_error_rate=0.15))

    assert result.verdict is Verdict.FAIL
    assert [b["threshold"] for b in result.counterexamples] == ["success_rate"]


def test_throughput_below_its_floor_fails() -> None:
    ops = [op(10 + i, 10) for i in range(5)]

    result = slo_check(
        history(*ops), Slo("hold", min_throughput=1.0), MeasuredWindow(warmup_end=10, end=20)
    )

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["measured"] == pytest.approx(0.5)


def test_an_slo_with_no_samples_after_warm_up_is_unknown() -> None:
    result = slo_check(history(op(1, 10)), Slo("hold", p95_ms=1), MeasuredWindow(warmup_end=100))

    assert result.verdict is Verdict.UNKNOWN
    assert result.metrics["count"] == 0


def test_the_slo_check_reads_the_measured_window_from_the_evidence() -> None:
    evidence = Evidence(
        history=history(op(1, 99999), op(20, 10)), window=MeasuredWindow(warmup_end=10)
    )

    result = run_check(check_slo(Slo("hold", p99_ms=100)), evidence)

    assert result.verdict is Verdict.PASS
