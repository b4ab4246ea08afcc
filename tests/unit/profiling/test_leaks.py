"""Theil–Sen slopes and leak verdicts on synthetic series: clean, linear leak, step, noisy
plateau, a pool that fills to its ceiling, too few samples."""

import random

import pytest

from profiling.leaks import MIB, Leak, floor, leak_verdict, process_verdicts, theil_sen, worst

SECONDS = [float(s) for s in range(180)]  # three minutes at one sample a second


def noisy(values: list[float], sd: float, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [v + rng.gauss(0, sd) for v in values]


def test_theil_sen_finds_the_slope_of_a_line_and_its_interval_holds_it() -> None:
    fit = theil_sen(SECONDS, noisy([3 + 2 * s for s in SECONDS], sd=5))
    assert fit is not None
    assert fit.slope == pytest.approx(2, abs=0.1)
    assert fit.low < 2 < fit.high
    assert fit.high - fit.low < 0.3


def test_theil_sen_shrugs_off_outliers_that_would_pull_least_squares() -> None:
    ys = [10.0 + 0.5 * s for s in SECONDS]
    for i in range(0, 180, 15):
        ys[i] += 10_000  # a garbage collection's spikes
    fit = theil_sen(SECONDS, ys)
    assert fit is not None and fit.slope == pytest.approx(0.5, abs=0.01)


def test_theil_sen_refuses_series_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        theil_sen([1.0, 2.0], [1.0])


def test_a_clean_series_is_no_leak() -> None:
    verdict = leak_verdict("fds", SECONDS, [42.0] * 180)
    assert verdict.verdict is Leak.NO_LEAK
    assert "upper bound is under the material" in verdict.rule
    assert verdict.per_minute == 0


def test_a_linear_leak_is_a_leak_with_its_slope_per_minute_and_per_1000_requests() -> None:
    requests = [20.0 * s for s in SECONDS]  # 20 requests a second
    uss = noisy([50 * MIB + 30_000 * s for s in SECONDS], sd=300_000)  # 1.5 KB/request
    verdict = leak_verdict("uss_bytes", SECONDS, uss, requests=requests)
    assert verdict.verdict is Leak.LEAK
    assert "still growing in the second half" in verdict.rule
    assert verdict.per_minute == pytest.approx(30_000 * 60, rel=0.1)
    assert verdict.per_minute_low > 0
    assert verdict.per_1k_requests == pytest.approx(1_500_000, rel=0.1)


def test_a_step_that_levels_off_is_no_leak() -> None:
    fds = [40.0 + 9 * min(max(s - 20, 0), 40) for s in SECONDS]  # +360 in 40 s, then flat
    verdict = leak_verdict("fds", SECONDS, noisy(fds, sd=0.5))
    assert verdict.verdict is Leak.NO_LEAK
    assert "levelled off" in verdict.rule


def test_a_rise_whose_second_half_is_too_noisy_to_call_is_inconclusive_not_a_step() -> None:
    fds = [40.0 + 9 * min(max(s - 20, 0), 40) for s in SECONDS]  # the same step as above
    rng = random.Random(3)
    noise = [rng.gauss(0, 0.5 if s < 90 else 60.0) for s in SECONDS]
    verdict = leak_verdict("fds", SECONDS, [v + n for v, n in zip(fds, noise, strict=True)])
    assert verdict.verdict is Leak.INCONCLUSIVE
    assert "too noisy to tell" in verdict.rule


def test_a_noisy_plateau_is_no_leak() -> None:
    uss = noisy([80 * MIB] * 180, sd=1 * MIB)
    verdict = leak_verdict("uss_bytes", SECONDS, uss)
    assert verdict.verdict is Leak.NO_LEAK
    assert verdict.per_minute_low < 0 < verdict.per_minute_high


def test_a_plateau_too_noisy_to_rule_out_growth_is_inconclusive() -> None:
    uss = noisy([80 * MIB] * 180, sd=40 * MIB)
    assert leak_verdict("uss_bytes", SECONDS, uss).verdict is Leak.INCONCLUSIVE


def test_slow_real_growth_under_the_material_rate_is_no_leak() -> None:
    fds = noisy([40 + s * 4 / 60 for s in SECONDS], sd=0.3)  # four descriptors a minute
    verdict = leak_verdict("fds", SECONDS, fds)
    assert verdict.verdict is Leak.NO_LEAK
    assert verdict.per_minute_low > 0
    assert "under the material 10.00/min" in verdict.rule


def test_growth_whose_interval_straddles_the_material_rate_is_inconclusive() -> None:
    fds = noisy([40 + s * 9 / 60 for s in SECONDS], sd=10)
    verdict = leak_verdict("fds", SECONDS, fds)
    assert verdict.verdict is Leak.INCONCLUSIVE
    assert verdict.per_minute_low < 10 < verdict.per_minute_high


def test_a_pool_that_fills_to_its_ceiling_and_stays_there_leaks() -> None:
    in_use = [min(10.0, 1 + s / 6) for s in SECONDS]  # ten a minute, full after 54 s
    verdict = leak_verdict("pool_in_use", SECONDS, in_use, ceiling=10)
    assert verdict.verdict is Leak.LEAK
    assert "to its ceiling of 10" in verdict.rule and "exhausted" in verdict.rule
    assert leak_verdict("pool_in_use", SECONDS, in_use).verdict is Leak.NO_LEAK


def test_too_few_samples_are_inconclusive() -> None:
    verdict = leak_verdict("fds", SECONDS[:10], [float(s) for s in range(10)])
    assert verdict.verdict is Leak.INCONCLUSIVE
    assert "only 10 samples" in verdict.rule


def test_a_process_leaks_when_any_resource_does() -> None:
    clean = leak_verdict("fds", SECONDS, [1.0] * 180)
    leaking = leak_verdict("fds", SECONDS, [float(s) for s in SECONDS])
    assert worst([clean, leaking]) is Leak.LEAK
    assert worst([clean]) is Leak.NO_LEAK
    assert worst([]) is Leak.INCONCLUSIVE


def test_a_pool_is_judged_on_its_floor_not_its_swing() -> None:
    assert floor([5.0, 1.0, 4.0, 6.0, 7.0], 3) == [5.0, 1.0, 1.0, 1.0, 4.0]
    rng = random.Random(5)
    leaked = [s / 6 for s in SECONDS]  # ten connections a minute never given back
    rows = [
        {
            "t": s,
            "pid": 3,
            "kind": "worker",
            "pool_max": 60.0,
            "pool_in_use": round(leak + rng.choice([0, 0, 3, 8, 15])),
        }
        for s, leak in zip(SECONDS, leaked, strict=True)
    ]
    (verdict,) = process_verdicts(rows, ["pool_in_use"], 0.0, 179.0)
    assert verdict["verdict"] == "LEAK"
    assert 8 < verdict["per_minute"] < 12


def test_memory_is_judged_per_request_when_the_count_is_known() -> None:
    uss = noisy([60 * MIB + MIB / 60 * s for s in SECONDS], sd=50_000)  # 1 MiB a minute
    busy = leak_verdict("uss_bytes", SECONDS, uss, requests=[5000 / 60 * s for s in SECONDS])
    quiet = leak_verdict("uss_bytes", SECONDS, uss, requests=[1000 / 60 * s for s in SECONDS])
    assert busy.judged_per == quiet.judged_per == "1k requests"
    assert busy.verdict is Leak.NO_LEAK  # 0.2 MiB per 1,000 requests: a process settling
    assert quiet.verdict is Leak.LEAK  # 1 MiB per 1,000 requests kept
    assert "MiB/1k requests" in quiet.rule
    assert leak_verdict("uss_bytes", SECONDS, uss).judged_per == "min"


def test_a_flat_series_whose_load_fell_away_is_inconclusive_not_no_leak() -> None:
    # 20 requests a second for two minutes, then 2: sold out, or the pool gone
    requests = [20.0 * s if s < 120 else 2400 + 2.0 * (s - 120) for s in SECONDS]
    verdict = leak_verdict("fds", SECONDS, [42.0] * 180, requests=requests)
    assert verdict.verdict is Leak.INCONCLUSIVE
    assert "load fell from 20.0 to 2.0 requests/s" in verdict.rule


def test_a_flat_series_with_no_request_served_is_inconclusive() -> None:
    verdict = leak_verdict("fds", SECONDS, [42.0] * 180, requests=[500.0] * 180)
    assert verdict.verdict is Leak.INCONCLUSIVE
    assert "served no request in the window" in verdict.rule


def test_a_flat_series_under_steady_load_stays_no_leak() -> None:
    requests = [20.0 * s for s in SECONDS]
    assert leak_verdict("fds", SECONDS, [42.0] * 180, requests=requests).verdict is Leak.NO_LEAK


def test_a_leak_stays_a_leak_when_the_load_falls() -> None:
    requests = [20.0 * s if s < 120 else 2400.0 for s in SECONDS]
    fds = [40.0 + s for s in SECONDS]  # a descriptor a second
    assert leak_verdict("fds", SECONDS, fds, requests=requests).verdict is Leak.LEAK


def test_a_pool_full_from_the_windows_start_is_inconclusive() -> None:
    verdict = leak_verdict("pool_in_use", SECONDS, [10.0] * 180, ceiling=10)
    assert verdict.verdict is Leak.INCONCLUSIVE
    assert "at its ceiling of 10 from the window's start" in verdict.rule
