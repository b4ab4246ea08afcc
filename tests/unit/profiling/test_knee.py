"""The knee of synthetic step loads, and what saturated first."""

from profiling.knee import Step, find_knee


def steps(rows: list[tuple[int, float, float]], evidence=None) -> list[Step]:
    evidence = evidence or {}
    return [Step(u, tp, p95, evidence.get(u, {})) for u, tp, p95 in rows]


CLIFF = [(10, 50, 40), (20, 98, 45), (30, 140, 60), (40, 150, 120), (50, 149, 260), (60, 147, 400)]


def test_the_knee_is_where_throughput_peaks_while_p95_climbs() -> None:
    knee = find_knee(steps(CLIFF))
    assert knee.users == 40
    assert knee.throughput == 150
    assert "p95 climbs from 120 ms to 400 ms" in knee.reason


def test_a_load_still_growing_at_its_last_step_has_no_knee() -> None:
    rows = [(10, 50, 40), (20, 100, 41), (30, 150, 42), (40, 200, 44)]
    knee = find_knee(steps(rows))
    assert knee.users is None
    assert "still grows at the last step (40 users" in knee.reason


def test_a_plateau_without_latency_climbing_is_no_knee() -> None:
    rows = [(10, 50, 40), (20, 100, 41), (30, 101, 42), (40, 100, 44)]
    knee = find_knee(steps(rows))
    assert knee.users is None and "does not climb" in knee.reason


def test_throughput_that_falls_past_the_peak_keeps_the_knee_at_the_peak() -> None:
    rows = [(10, 50, 40), (20, 120, 50), (30, 90, 300), (40, 60, 900)]
    assert find_knee(steps(rows)).users == 20


# The idle machine's 2-connection vu-knee run: a plateau from 20 users whose steps differ
# by up to 15 % (noise), so its last step happens to be the best by 13 %.
NOISY = [
    (10, 134, 44),
    (20, 162, 60),
    (30, 164, 150),
    (40, 143, 320),
    (50, 163, 500),
    (60, 185, 709),
]


def noisy(se: float) -> list[Step]:
    return [Step(u, tp, p95, {}, se) for u, tp, p95 in NOISY]


def test_a_noisy_plateau_is_a_knee_when_the_steps_cannot_be_told_apart() -> None:
    knee = find_knee(noisy(se=9.0))  # allowance 2 × √(9² + 9²) ≈ 25.5/s
    assert knee.users == 20
    assert "within 2 standard errors, 25.5/s, of the best, 185.0/s" in knee.reason


def test_the_same_steps_measured_without_noise_still_grow() -> None:
    knee = find_knee(noisy(se=0.0))
    assert knee.users is None and "still grows at the last step (60 users" in knee.reason


def test_a_step_beyond_the_noise_is_not_taken_for_the_best() -> None:
    knee = find_knee(noisy(se=7.0))  # allowance ≈ 19.8/s: 162 is 23 below, 164 is 21 below
    assert knee.users is None and "still grows at the last step" in knee.reason


def test_noise_never_shrinks_the_fixed_tolerance() -> None:
    rows = [Step(u, tp, p95, {}, 0.1) for u, tp, p95 in CLIFF]
    assert find_knee(rows).users == 40  # 140 is 6.7 % below 150: outside 5 %, so 40 not 30


def test_too_few_steps_have_no_knee() -> None:
    assert find_knee(steps(CLIFF[:2])).users is None


def test_the_resource_that_saturated_first_is_named() -> None:
    evidence = {
        30: {"pool_waiting": 0.2, "cpu_mariadb": 60},
        40: {"pool_waiting": 3.0, "cpu_mariadb": 70, "loop_lag_s": 0.01},
        50: {"pool_waiting": 9.0, "cpu_mariadb": 90, "loop_lag_s": 0.3},
    }
    knee = find_knee(steps(CLIFF, evidence))
    assert knee.saturated_first == "pool_waiting"
    assert knee.saturated_at == {"pool_waiting": 40, "cpu_mariadb": 50, "loop_lag_s": 50}
    assert knee.attribution.startswith("the database pool (requests waiting")
    assert "at or before the knee" in knee.attribution


def test_ties_go_to_the_resource_deepest_past_its_threshold() -> None:
    evidence = {40: {"pool_waiting": 1.0, "cpu_service_max": 170}}
    knee = find_knee(steps(CLIFF, evidence))
    assert knee.saturated_first == "cpu_service_max"


def test_nothing_saturated_is_said_plainly() -> None:
    knee = find_knee(steps(CLIFF))
    assert knee.saturated_first is None
    assert knee.attribution == "nothing measured reached its saturation threshold"
