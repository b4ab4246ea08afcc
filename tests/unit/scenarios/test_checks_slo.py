"""SLOs: exact percentiles, errors without expected refusals, throughput, warm-up."""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from scenarios.checks.catalog import check_slo
from scenarios.checks.result import CheckResult, Verdict
from scenarios.checks.run import run_check
from scenarios.checks.slo import OperationStats, Slo, _fmt, measure, percentile, slo_check
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


# ---- percentiles past a hundred samples, against an independent computation -----------


def nearest_rank(samples: list[float], p: float) -> float:
    """The definition, in exact decimal arithmetic: rank ⌈p/100 · n⌉, at least 1."""
    rank = math.ceil(Fraction(str(p)) * len(samples) / 100)
    return sorted(samples)[max(rank, 1) - 1]


@example(1000, 0, 99.9)  # found by this test: the float rank was the maximum
@example(300, 0, 7)  # found by this test: the float rank was one too far
@given(
    st.integers(101, 5000),
    st.integers(0, 2**32),
    st.one_of(st.integers(0, 100), st.sampled_from([99.9, 99.99, 0.1, 12.5])),
)
def test_percentiles_of_more_than_a_hundred_samples_are_the_nearest_rank(
    n: int, seed: int, p: float
) -> None:
    rng = random.Random(seed)
    samples = [float(rng.randrange(10**6)) for _ in range(n)]

    assert percentile(samples, p) == nearest_rank(samples, p)


@pytest.mark.parametrize("n", [101, 250, 999, 1000, 4096])
@pytest.mark.parametrize("p", [50, 90, 95, 99])
def test_the_usual_percentiles_agree_with_numpys_inverted_cdf(n: int, p: int) -> None:
    samples = [float((i * 7919) % n) for i in range(n)]  # every value once, shuffled

    assert percentile(samples, p) == np.percentile(samples, p, method="inverted_cdf")


def test_p99_9_of_a_thousand_samples_is_the_999th_not_the_maximum() -> None:
    samples = [float(i) for i in range(1, 1001)]

    assert percentile(samples, 99.9) == 999.0
    assert percentile(samples, 7) == 70.0
    assert percentile([float(i) for i in range(1, 301)], 7) == 21.0


def test_a_percentile_outside_0_to_100_names_it() -> None:
    assert percentile([1.0, 2.0], 100) == 2.0
    with pytest.raises(ValueError, match=r"^percentile must be within \[0, 100\], got 100.5$"):
        percentile([1.0], 100.5)
    with pytest.raises(ValueError, match=r"got -1"):
        percentile([1.0], -1)


# ---- several operations, limits at equality, the whole result --------------------------


def mixed() -> History:
    """Holds of 125, 250, 375, 500 ms (one refused with 409); pays of 1 s, one a 503."""
    return history(
        op(0, 125),
        op(1, 250),
        op(2, 375, Outcome.FAIL, 409),
        op(3, 500),
        op(0.5, 1000, name="pay"),
        op(1.5, 1000, Outcome.FAIL, 503, name="pay"),
    )


def test_an_slo_for_one_operation_measures_only_that_operation() -> None:
    stats = measure(mixed(), "hold")

    assert stats == OperationStats(
        operation="hold",
        count=4,
        ok=3,
        expected=1,
        errors=0,
        unknown=0,
        window_s=3.5,
        p50_ms=250.0,
        p95_ms=500.0,
        p99_ms=500.0,
        max_ms=500.0,
        mean_ms=312.5,
        error_rate=0.0,
        success_rate=0.75,
        throughput=4 / 3.5,
    )
    assert measure(mixed(), "pay").count == 2
    assert measure(mixed(), None).count == 6


def test_every_limit_met_exactly_passes() -> None:
    slo = Slo(
        "hold",
        p50_ms=250,
        p95_ms=500,
        p99_ms=500,
        max_error_rate=0.0,
        min_success_rate=0.75,
        min_throughput=4 / 3.5,
    )

    result = slo_check(mixed(), slo)

    assert (result.name, result.verdict, result.summary) == (
        "slo:hold",
        Verdict.PASS,
        "4 ops: p95 500.0 ms, errors 0, 1.1 ops/s",
    )
    assert result.metrics == measure(mixed(), "hold").to_metrics()


@pytest.mark.parametrize(
    ("limit", "summary"),
    [
        ({"p50_ms": 249.9}, "p50_ms 250.0 (limit at most 249.9)"),
        ({"p95_ms": 499.9}, "p95_ms 500.0 (limit at most 499.9)"),
        ({"p99_ms": 499.9}, "p99_ms 500.0 (limit at most 499.9)"),
        ({"min_success_rate": 0.76}, "success_rate 0.75 (limit at least 0.76)"),
        ({"min_throughput": 1.2}, "throughput 1.1 (limit at least 1.2)"),
    ],
)
def test_a_limit_missed_by_a_little_fails_naming_it(limit: dict, summary: str) -> None:
    result = slo_check(mixed(), Slo("hold", **limit))

    assert (result.verdict, result.summary) == (Verdict.FAIL, summary)
    assert result.metrics == measure(mixed(), "hold").to_metrics()


def test_a_latency_limit_is_a_ceiling_never_a_floor() -> None:
    assert slo_check(mixed(), Slo("hold", p50_ms=1000, p95_ms=1000, p99_ms=1000)).passed


def test_the_error_rate_at_its_limit_passes_and_above_fails_with_every_breach() -> None:
    ok = slo_check(mixed(), Slo("pay", max_error_rate=0.5))
    bad = slo_check(mixed(), Slo("pay", p50_ms=100, max_error_rate=0.4))

    assert ok.verdict is Verdict.PASS
    assert bad.counterexamples == (
        {"threshold": "p50_ms", "limit": 100, "measured": 1000.0, "rule": "at most"},
        {"threshold": "error_rate", "limit": 0.4, "measured": 0.5, "rule": "at most"},
    )
    assert bad.summary == (
        "p50_ms 1000.0 (limit at most 100.0); error_rate 0.5 (limit at most 0.4)"
    )


def test_refusals_count_in_throughput_only_when_expected() -> None:
    as_expected = measure(mixed(), "hold")
    as_errors = measure(mixed(), "hold", expected_statuses=())

    assert (as_expected.expected, as_expected.errors) == (1, 0)
    assert (as_errors.expected, as_errors.errors, as_errors.error_rate) == (0, 1, 0.25)
    assert as_errors.throughput == 3 / 3.5
    assert slo_check(mixed(), Slo("hold", expected_statuses=frozenset())).metrics["errors"] == 1


def test_an_slo_for_every_operation_says_so_when_it_has_too_few_samples() -> None:
    result = slo_check(history(), Slo(None, p95_ms=1, min_samples=3))

    assert result == CheckResult.make(
        "slo:all",
        Verdict.UNKNOWN,
        "0 samples of any operation after warm-up, need 3",
        metrics=measure(history(), None).to_metrics(),
    )


def test_a_threshold_that_cannot_be_measured_is_unknown_and_named() -> None:
    instant = history(op(5, 0))

    result = slo_check(instant, Slo("hold", p95_ms=10, min_throughput=1))

    assert (result.name, result.verdict, result.summary) == (
        "slo:hold",
        Verdict.UNKNOWN,
        "could not measure throughput",
    )
    assert result.metrics["window_s"] == 0


def test_the_window_runs_from_warm_up_end_or_the_first_start_to_the_end_or_last_finish() -> None:
    ops = history(op(10, 1000), op(12, 500))

    assert measure(ops, "hold").window_s == 2.0 + 0.5
    assert measure(ops, "hold", MeasuredWindow(warmup_end=9.0)).window_s == 12.5 - 9.0
    assert measure(ops, "hold", MeasuredWindow(end=20.0)).window_s == 10.0
    assert measure(ops, "hold", MeasuredWindow(end=12.0)).count == 1
    assert measure(history(), "hold").window_s is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (0.123456, "0.123"),
        (0.999, "0.999"),
        (1.0, "1.0"),
        (-1.5, "-1.5"),
        (1234.56, "1234.6"),
        (1.234, "1.2"),
    ],
)
def test_numbers_in_summaries_keep_three_digits_below_one(value: float | None, text: str) -> None:
    assert _fmt(value) == text


def test_p99_of_two_hundred_samples_is_not_the_maximum() -> None:
    ops = history(*(op(i, 1 + i) for i in range(200)))

    stats = measure(ops, "hold")

    assert (stats.p99_ms, stats.max_ms) == (pytest.approx(198.0), pytest.approx(200.0))


def test_throughput_over_a_window_shorter_than_a_second_is_measured() -> None:
    stats = measure(history(op(0, 250), op(0.25, 250)), "hold")

    assert (stats.window_s, stats.throughput) == (0.5, 4.0)


def test_a_failed_slo_is_named_for_its_operation() -> None:
    assert slo_check(mixed(), Slo("pay", max_error_rate=0.1)).name == "slo:pay"


def test_cut_off_operations_are_counted_apart_and_measured_in_nothing_else() -> None:
    ops = history(
        op(10.0, 5),
        op(10.5, 5, outcome=Outcome.CUT_OFF, status=None),
        op(11.0, 7, outcome=Outcome.CUT_OFF, status=None),
    )

    stats = measure(ops, "hold")

    assert (stats.count, stats.cut_off) == (1, 2)
