"""The knee companion's arithmetic: step windows, per-step figures and the evidence."""

import pytest

from scenarios.history import Operation, Outcome
from scenarios.knee import lock_rates, percentile, step_figures, step_windows, worker_evidence


def test_each_step_is_measured_after_it_settles() -> None:
    assert step_windows(100.0, [10, 20], 10.0) == [(10, 103.0, 110.0), (20, 113.0, 120.0)]


def test_step_figures_count_successes_ending_in_the_step_and_their_p95() -> None:
    ops = [
        Operation("hold", "p", 100.0 + i, 100.0 + i + 0.01 * (i + 1), Outcome.OK) for i in range(20)
    ]
    ops.append(Operation("hold", "p", 101.0, 101.5, Outcome.FAIL, status=503))
    figures = step_figures(ops, 100.0, 110.0)
    assert figures.throughput == 1.0  # ten successes in ten seconds; the failure does not count
    assert figures.p95_ms == pytest.approx(100.0)  # nearest rank: the 10th of 10 (10..100 ms)


def test_a_steady_step_has_no_throughput_noise() -> None:
    ops = [Operation("hold", "p", t / 4, t / 4 + 0.1, Outcome.OK) for t in range(40)]
    assert step_figures(ops, 0.0, 10.0).throughput_se == 0.0  # four a second, every second


def test_the_throughput_noise_is_the_standard_error_of_the_per_second_counts() -> None:
    per_second = [2, 6, 2, 6]  # mean 4, sample stdev 2.31, standard error 2.31 / √4
    ops = [
        Operation("hold", "p", second, second + 0.5 + i * 0.01, Outcome.OK)
        for second, count in enumerate(per_second)
        for i in range(count)
    ]
    figures = step_figures(ops, 0.0, 4.0)
    assert figures.throughput == 4.0
    assert figures.throughput_se == pytest.approx(2.3094 / 2, rel=1e-3)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.95) is None
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0


def test_lock_waits_a_second_come_from_the_cumulative_counter() -> None:
    samples = [(0.0, 10.0, 0.0), (1.0, 13.0, 2.0), (3.0, 19.0, 1.0), (3.0, 25.0, 0.0)]
    assert lock_rates(samples) == [(1.0, 3.0), (3.0, 3.0)]


def test_workers_add_up_their_pools_and_the_worst_loop_lag_counts() -> None:
    rows = [
        {
            "t": 1.0,
            "kind": "worker",
            "pool_in_use": 2,
            "pool_max": 4,
            "pool_waiting": 1,
            "loop_lag_s": 0.01,
            "cpu_percent": 50.0,
        },
        {
            "t": 1.0,
            "kind": "worker",
            "pool_in_use": 4,
            "pool_max": 4,
            "pool_waiting": 3,
            "loop_lag_s": 0.2,
            "cpu_percent": 90.0,
        },
        {"t": 1.0, "kind": "supervisor", "pool_waiting": 100},
    ]
    evidence = worker_evidence(rows)
    assert evidence["pool_waiting"] == [(1.0, 4)]
    assert evidence["pool_in_use_share"] == [(1.0, 0.75)]
    assert evidence["loop_lag_s"] == [(1.0, 0.2)]
    assert evidence["cpu_service_max"] == [(1.0, 90.0)]
