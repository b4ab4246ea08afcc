"""Scenario validation names every problem before anything starts."""

import pytest

from scenarios.checks.slo import Slo
from scenarios.spec import Fault, Scenario, ScenarioError, Variant, Venue

SHAPED = {"pay": True, "shape": {"kind": "constant", "users": 5, "spawn_rate": 5, "duration_s": 40}}


def psp(at_s: float = 1, duration_s: float = 5, **params: object) -> Fault:
    return Fault(at_s=at_s, kind="psp-faults", duration_s=duration_s, params=params)


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
        # What `validate` once passed (issue 10): each is now refused, named.
        ({"nemesis": (psp(confirm_latncy={"kind": "none"}),)}, "params.confirm_latncy: unknown"),
        ({"nemesis": (psp(timeout_rate=2),)}, "params.timeout_rate: must be between 0 and 1"),
        ({"nemesis": (psp(confirm_latency={"kind": "fixed"}),)}, "confirm_latency.ms: required"),
        ({"workload": SHAPED, "nemesis": (psp(at_s=500),)}, "at_s=500 is after the load ends"),
        ({"workload": SHAPED, "nemesis": (psp(at_s=30, duration_s=20),)}, "ends at 50 s, after"),
        ({"workload": {"pay": False}, "nemesis": (psp(),)}, 'acts only when the workload\'s "pay"'),
        ({"slos": (Slo(operation="refund"),)}, "no operation 'refund'; it records sign_in"),
        ({"slos": (Slo(operation="confirm"),)}, "no operation 'confirm'"),  # buyers do not pay
        ({"slos": (Slo(operation="hold", max_error_rate=5),)}, "max_error_rate is a share"),
        ({"slos": (Slo(operation="hold", p95_ms=0),)}, "p95_ms must be positive"),
        ({"slos": (Slo(operation=None, expected_statuses=frozenset({42})),)}, "HTTP statuses"),
        ({"settings": {"sweeper_interval_s": -1}}, "settings.sweeper_interval_s must be positive"),
        ({"settings": {"sweeper_grace_s": -2}}, "settings.sweeper_grace_s must not be negative"),
        ({"settings": {"hold_ttl_s": "5"}}, "settings.hold_ttl_s must be a number, got '5'"),
        ({"settings": {"sweeper_enabled": 1}}, "settings.sweeper_enabled must be true or false"),
        ({"settings": {"defects": ["fd-leak"]}}, "settings.defects must be a set of names"),
        ({"settings": {"defects": frozenset({"gremlins"})}}, "unknown defect(s) gremlins"),
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


def test_a_fault_that_can_act_within_the_load_has_no_problem() -> None:
    fault = psp(at_s=30, duration_s=10, confirm_latency={"kind": "fixed", "ms": 500})
    assert scenario(workload=SHAPED, nemesis=(fault,)).problems() == []


def test_a_problem_every_variant_shares_is_listed_once_and_its_own_per_variant() -> None:
    s = scenario(
        settings={"sweeper_interval_s": -1},
        variants=(
            Variant("a"),
            Variant("b"),
            Variant("c", settings={"claim_strategy": "yolo", "sweeper_interval_s": 1}),
        ),
    )
    problems = s.problems()
    shared = [p for p in problems if "sweeper_interval_s" in p]
    assert shared == [
        "variant 'a': settings.sweeper_interval_s must be positive, got -1",
        "variant 'b': settings.sweeper_interval_s must be positive, got -1",
    ]
    assert next(p for p in problems if "yolo" in p).startswith("variant 'c': ")
    two = (Variant("a"), Variant("b"))
    everywhere = scenario(settings={"sweeper_interval_s": -1}, variants=two)
    assert everywhere.problems() == ["settings.sweeper_interval_s must be positive, got -1"]
