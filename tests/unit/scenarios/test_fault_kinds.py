"""The fault-kind registry: every step's parameters checked before anything starts, and
the pure helpers of the fault proxy (slicing, routing)."""

from __future__ import annotations

import random

import pytest

from scenarios.faults.kinds import FAULT_KINDS, links_needed, schemas
from scenarios.faults.lab import FaultProxy, routed, with_port
from scenarios.faults.links import slices
from scenarios.spec import Fault, Scenario
from service.config import Settings


def problems(kind: str, params: dict, duration_s: float | None = 5.0) -> list[str]:
    return FAULT_KINDS[kind].problems(params, duration_s)


def test_every_kind_publishes_a_schema_with_its_parameters() -> None:
    published = schemas()
    assert set(published) == set(FAULT_KINDS)
    assert published["toxic"]["required"] == ["proxy", "type"]
    assert published["replication-delay"]["properties"]["seconds"]["minimum"] == 1
    assert published["psp-faults"]["additionalProperties"] is True
    assert published["worker-kill"]["instantaneous"] is True


@pytest.mark.parametrize(
    ("kind", "params", "named"),
    [
        ("toxic", {"type": "latency"}, "proxy is required"),
        ("toxic", {"proxy": "mars", "type": "latency"}, "proxy must be one of"),
        ("toxic", {"proxy": "primary", "type": "latency", "attributes": {"latancy": 5}}, "latancy"),
        ("toxic", {"proxy": "primary", "type": "latency", "toxicity": 3}, "at most 1"),
        ("replication-delay", {"seconds": 0}, "at least 1"),
        ("replication-delay", {"seconds": 1.5}, "must be an int"),
        ("replication-link-delay", {}, "latency_ms is required"),
        ("server-stop", {"server": "rabbitmq"}, "must be one of redis, replica"),
        ("worker-pause", {"victim": 1}, "unknown parameter(s) victim"),
        ("db-kill-connections", {"every_s": 0}, "at least 0.1"),
    ],
)
def test_each_bad_parameter_is_named(kind: str, params: dict, named: str) -> None:
    found = problems(kind, params)
    assert any(named in p for p in found), found


def test_a_fault_that_is_switched_off_needs_a_duration() -> None:
    assert any(
        "duration_s is required" in p for p in problems("proxy-down", {"proxy": "redis"}, None)
    )


def test_an_instantaneous_fault_needs_no_duration() -> None:
    assert problems("worker-kill", {}, None) == []


def test_the_providers_faults_are_checked_by_the_providers_own_parser() -> None:
    assert problems("psp-faults", {"timeout_rate": 0.1}) == []
    assert any("anything" in p for p in problems("psp-faults", {"anything": {"kind": "none"}}))


def test_scenario_validation_names_a_fault_parameter_problem() -> None:
    scenario = Scenario(
        name="t",
        description="d",
        workload={},
        nemesis=(Fault(at_s=1, kind="toxic", duration_s=2, params={"proxy": "primary"}),),
    )
    assert "nemesis[0] (toxic): type is required (the toxic's type)" in scenario.problems()


def test_only_the_links_that_faults_name_are_routed() -> None:
    steps = (
        Fault(at_s=1, kind="toxic", duration_s=1, params={"proxy": "primary", "type": "timeout"}),
        Fault(at_s=1, kind="replication-link-delay", duration_s=1, params={"latency_ms": 5}),
        Fault(at_s=1, kind="psp-faults", duration_s=1),
    )
    assert links_needed(steps) == {"primary", "replication"}


def test_routing_points_only_the_routed_links_at_the_proxy_and_keeps_credentials() -> None:
    settings = Settings(
        db_url="mysql://app:pw@127.0.0.1:3407/ticketlab",
        replica_url="mysql://app:pw@127.0.0.1:3408/ticketlab",
        redis_url="redis://127.0.0.1:6479/0",
    )
    proxy = FaultProxy("http://127.0.0.1:1", 1, {"primary": 40001, "redis": 40002})
    out = routed(settings, proxy)
    assert out.db_url == "mysql://app:pw@127.0.0.1:40001/ticketlab"
    assert out.redis_url == "redis://127.0.0.1:40002/0"
    assert out.replica_url == settings.replica_url
    assert with_port("amqp://g:g@127.0.0.1:5672/vh", 9) == "amqp://g:g@127.0.0.1:9/vh"


@pytest.mark.parametrize("size", [1, 99, 100, 121, 1000, 65536])
def test_slices_cover_the_data_in_pieces_near_the_average(size: int) -> None:
    cuts = slices(size, 100, 20, random.Random(size))
    pieces = [b - a for a, b in zip([0, *cuts], cuts, strict=False)]
    assert cuts[-1] == size and sum(pieces) == size
    assert all(0 < p <= 120 for p in pieces) or size <= 120
