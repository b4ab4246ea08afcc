"""Command-line overrides mean one thing whatever the shape, or say what works instead."""

import pytest

from scenarios.catalog import load_scenario
from scenarios.overrides import Overrides, apply_overrides
from scenarios.spec import ScenarioError


def shape_of(name: str, **overrides: object) -> dict:
    return dict(apply_overrides(load_scenario(name), Overrides(**overrides)).workload["shape"])


def test_duration_and_users_set_a_constant_load() -> None:
    shape = shape_of("smoke", duration_s=7, users=3)
    assert (shape["duration_s"], shape["users"]) == (7, 3)


def test_users_scale_the_seed_stages_to_a_new_peak() -> None:
    shape = shape_of("seed-profile", users=70)
    assert max(target for _, target in shape["stages"]) == 70
    assert shape["stages"][0] == [120, 10]


def test_time_scale_stretches_a_staged_shape() -> None:
    assert shape_of("seed-profile", time_scale=0.01)["time_scale"] == 0.01


def test_duration_on_a_staged_shape_points_to_time_scale() -> None:
    with pytest.raises(ScenarioError, match="use --time-scale"):
        shape_of("seed-profile", duration_s=30)


def test_time_scale_on_a_constant_shape_points_to_duration() -> None:
    with pytest.raises(ScenarioError, match="use --duration"):
        shape_of("smoke", time_scale=2)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"duration_s": 0}, "--duration must be positive"),
        ({"users": 0}, "--users must be at least 1"),
        ({"time_scale": -1}, "--time-scale must be positive"),
        ({"variants": ("fast",)}, "valid: naive, pessimistic"),
    ],
)
def test_bad_overrides_are_named(overrides: dict, named: str) -> None:
    with pytest.raises(ScenarioError, match=named):
        apply_overrides(load_scenario("double-booking"), Overrides(**overrides))


def test_variants_select_and_order_the_matrix() -> None:
    scenario = apply_overrides(
        load_scenario("double-booking"), Overrides(variants=("redis-gate", "naive"))
    )
    assert [v.name for v in scenario.matrix()] == ["redis-gate", "naive"]
