"""Scenario validation names every problem before anything starts."""

import pytest

from scenarios.spec import Fault, Scenario, ScenarioError, Variant, Venue


def scenario(**changes: object) -> Scenario:
    values: dict = {"name": "try", "description": "a test scenario", "workload": {}}
    values.update(changes)
    return Scenario(**values)


def test_a_scenario_without_variants_runs_one_default_variant() -> None:
    assert [v.name for v in scenario().matrix()] == ["default"]


def test_variant_settings_override_the_scenarios() -> None:
    s = scenario(
        settings={"claim_strategy": "naive", "hold_ttl_s": 30},
        variants=(Variant("p", settings={"claim_strategy": "pessimistic"}),),
    )
    assert s.variant_settings(s.matrix()[0]) == {"claim_strategy": "pessimistic", "hold_ttl_s": 30}


def test_a_valid_scenario_has_no_problems() -> None:
    assert scenario(settings={"claim_strategy": "optimistic"}).problems() == []


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"settings": {"claim_strategy": "yolo"}}, "TICKETLAB_CLAIM_STRATEGY='yolo'"),
        ({"settings": {"hold_ttl": 5}}, "unknown setting(s) hold_ttl"),
        ({"settings": {"db_url": "mysql://x@y/z"}}, "set by the runner"),
        ({"workers": 0}, "workers must be at least 1"),
        ({"venue": Venue(zones=27)}, "zones must be between 1 and 26"),
        ({"nemesis": (Fault(at_s=1, kind="meteor"),)}, "nemesis[0] (meteor): unknown kind"),
        ({"invariants": ("no-unicorns",)}, "unknown 'no-unicorns'"),
        ({"variants": (Variant("a"), Variant("a"))}, "'a' appears twice"),
        ({"variants": (Variant("a", expect_violations=("oversell",)),)}, "unknown invariant"),
        ({"name": "///"}, "no characters usable"),
        ({"workload": {"seats_per_hold": [3, 1]}}, "workload.seats_per_hold"),
        ({"workload": {"service_url": "http://x"}}, "set by the runner"),
    ],
)
def test_each_problem_is_named(changes: dict, named: str) -> None:
    problems = scenario(**changes).problems()
    assert any(named in p for p in problems), problems


def test_validate_lists_every_problem_at_once() -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario(workers=0, venue=Venue(concerts=0)).validate()
    assert len(caught.value.problems) == 2


def test_selecting_an_unknown_variant_lists_the_valid_ones() -> None:
    s = scenario(variants=(Variant("naive"), Variant("conditional")))
    with pytest.raises(ScenarioError, match="valid: naive, conditional"):
        s.only(["pessimistic"])


def test_selecting_variants_keeps_the_given_order() -> None:
    s = scenario(variants=(Variant("a"), Variant("b"), Variant("c")))
    assert [v.name for v in s.only(["c", "a"]).matrix()] == ["c", "a"]
