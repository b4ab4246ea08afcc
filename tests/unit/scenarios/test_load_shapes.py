"""Load-shape math: users at time t, linear ramps, time scale, spike, step, arrival pool."""

from __future__ import annotations

import pytest

from scenarios.load.shapes import (
    SEED_PROFILE,
    ArrivalShape,
    ConstantShape,
    Plan,
    SpikeShape,
    Stage,
    StagesShape,
    StepShape,
    needs_shape_class,
    scaled,
    slope_at,
    stages_tick,
    total_duration,
    users_at,
)


def test_the_seed_profile_lasts_16_minutes_and_2_at_one_eighth() -> None:
    assert total_duration(SEED_PROFILE) == 16 * 60
    assert total_duration(scaled(SEED_PROFILE, 1 / 8)) == 2 * 60
    assert [s.target for s in scaled(SEED_PROFILE, 1 / 8)] == [100, 500, 700, 500, 0]


def test_ramps_are_linear_between_stage_targets_like_k6() -> None:
    stages = SEED_PROFILE
    assert users_at(stages, 0) == 0
    assert users_at(stages, 60) == 50
    assert users_at(stages, 120) == 100
    assert users_at(stages, 120 + 150) == 300
    assert users_at(stages, 120 + 300 + 150) == 600
    assert users_at(stages, 960 - 60) == 250


def test_time_scale_compresses_time_not_users() -> None:
    fast = scaled(SEED_PROFILE, 1 / 8)
    assert users_at(fast, 7.5) == users_at(SEED_PROFILE, 60) == 50
    assert users_at(fast, 52.5) == users_at(SEED_PROFILE, 420) == 500


def test_the_profile_ends_with_none_once_its_time_is_up() -> None:
    assert users_at(SEED_PROFILE, 959.9) is not None
    assert users_at(SEED_PROFILE, 960) is None
    assert stages_tick(SEED_PROFILE, 960) is None


def test_each_tick_asks_a_spawn_rate_that_reaches_its_target_within_a_second() -> None:
    fast = scaled(SEED_PROFILE, 1 / 8)
    for t in range(120):
        users, rate = stages_tick(fast, t)  # type: ignore[misc]
        before = users_at(fast, t - 1) or 0
        assert rate >= abs(users - before) - 1
        assert rate >= 1
    # the first stage climbs 100 users in 15 s
    assert stages_tick(fast, 5) == (33, pytest.approx(100 / 15))


def test_a_zero_duration_stage_is_a_jump_reached_in_one_tick() -> None:
    stages = (Stage(10, 10), Stage(0, 200), Stage(10, 200))
    assert users_at(stages, 9.99) == pytest.approx(9.99)
    assert stages_tick(stages, 10) == (200, pytest.approx(191))  # from 9 a second ago
    assert stages_tick(stages, 11) == (200, 1.0)


def test_a_spike_goes_from_baseline_to_peak_holds_and_drops_back() -> None:
    spike = SpikeShape(
        baseline_users=20,
        peak_users=500,
        ramp_s=10,
        baseline_s=20,
        rise_s=2,
        hold_s=30,
        drop_s=2,
        after_s=10,
    )
    plan = Plan.of(spike)
    assert plan.duration_s == 74
    assert plan.peak_users == 500
    assert plan.tick(5) == (10, pytest.approx(2.0))
    assert plan.tick(25)[0] == 20  # type: ignore[index]
    users, rate = plan.tick(31)  # type: ignore[misc]
    assert users == 260 and rate >= 240
    assert plan.tick(40)[0] == 500  # type: ignore[index]
    assert plan.tick(70)[0] == 20  # type: ignore[index]
    assert plan.tick(74) is None


def test_spike_time_scale_scales_every_phase() -> None:
    slow = Plan.of(SpikeShape(baseline_users=1, peak_users=10))
    fast = Plan.of(SpikeShape(baseline_users=1, peak_users=10, time_scale=0.5))
    assert fast.duration_s == slow.duration_s / 2


def test_steps_add_users_every_interval_up_to_the_max_then_stop() -> None:
    plan = Plan.of(StepShape(step_users=50, step_s=30, max_users=120))
    assert [plan.tick(t)[0] for t in (0, 29, 30, 59, 60, 89)] == [  # type: ignore[index]
        50,
        50,
        100,
        100,
        120,
        120,
    ]
    assert plan.tick(30)[1] == pytest.approx(50)  # type: ignore[index]
    assert plan.duration_s == 90
    assert plan.tick(90) is None


def test_the_arrival_pool_is_spawned_at_once_and_kept_for_the_duration() -> None:
    plan = Plan.of(ArrivalShape(rate_per_s=20, users=40, duration_s=60, time_scale=0.5))
    assert plan.tick(0) == (40, pytest.approx(40))
    assert plan.tick(29) == (40, 1.0)
    assert plan.tick(30) is None


def test_only_a_constant_load_or_none_runs_without_the_shape_class() -> None:
    assert not needs_shape_class(None)
    assert not needs_shape_class(ConstantShape(users=5, spawn_rate=5, duration_s=10))
    assert needs_shape_class(StagesShape(SEED_PROFILE, 1 / 8))
    assert needs_shape_class(StepShape(10, 10, 100))


def test_a_non_positive_time_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="time_scale"):
        scaled(SEED_PROFILE, 0)


def test_the_slope_is_that_of_the_stage_running_from_its_first_instant() -> None:
    stages = (Stage(10, 100), Stage(0, 300), Stage(20, 100))

    assert [slope_at(stages, t) for t in (0.0, 0.5, 9.99, 10.0, 29.99, 30.0, -1.0)] == [
        10.0,
        10.0,
        10.0,
        -10.0,
        -10.0,
        0.0,
        0.0,
    ]


def test_a_tick_early_in_a_ramp_spawns_at_the_ramps_slope() -> None:
    assert stages_tick((Stage(10, 100),), 0.5) == (5, 10.0)


def test_a_constant_shape_is_one_jump_then_a_level() -> None:
    plan = Plan.of(ConstantShape(users=7, spawn_rate=2.0, duration_s=30.0))

    assert plan.stages == (Stage(0.0, 7), Stage(30.0, 7))
    assert plan.duration_s == 30.0


def test_explicit_stages_follow_their_time_scale() -> None:
    shape = StagesShape((Stage(10, 5), Stage(20, 0)), time_scale=0.5)

    assert Plan.of(shape).stages == (Stage(5.0, 5), Stage(10.0, 0))
