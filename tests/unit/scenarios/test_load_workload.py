"""The workload config: defaults, every section, and errors that name the bad field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scenarios.load.seats import SeatSelection
from scenarios.load.shapes import (
    SEED_PROFILE,
    ArrivalShape,
    ConstantShape,
    SpikeShape,
    Stage,
    StagesShape,
    StepShape,
)
from scenarios.load.workload import (
    Abandon,
    Workload,
    WorkloadError,
    load_workload,
    parse_workload,
    write_workload,
)

MINIMAL = {"service_url": "http://127.0.0.1:8080/", "operations_path": "run/operations.jsonl"}


def workload(**fields: Any) -> Workload:
    return parse_workload({**MINIMAL, **fields})


def test_a_minimal_workload_gets_the_documented_defaults() -> None:
    w = workload()
    assert w.service_url == "http://127.0.0.1:8080"
    assert w.operations_path == Path("run/operations.jsonl")
    assert w.hint_for(7) == "buyer-7@lab.test"
    assert (w.concert_ids, w.seats, w.seats_per_hold) == ((1,), SeatSelection(), (1, 2))
    assert (w.think_time_s, w.abandon, w.pay, w.shape) == ((0.5, 2.0), Abandon(), False, None)


def test_every_section_is_read() -> None:
    w = workload(
        login_hint="fan-{n}@x.test",
        concert_ids=[3, 4],
        seats={"mode": "hotspot", "hotspot_share": 0.8, "hotspot_seats": 20, "hotspot_zone": "B"},
        seats_per_hold=[2, 4],
        think_time_s=[0, 0.25],
        abandon={"hold": 0.1, "reservation": 0.2},
        pay=True,
        warmup_s=15,
        request_timeout_s=5,
        seed=99,
        shape={"kind": "stages", "stages": "seed", "time_scale": 0.125},
    )
    assert w.seats == SeatSelection("hotspot", 0.8, 20, "B")
    assert w.abandon == Abandon(0.1, 0.2)
    assert w.shape == StagesShape(SEED_PROFILE, 0.125)
    assert (w.seats_per_hold, w.think_time_s, w.warmup_s, w.seed) == ((2, 4), (0, 0.25), 15, 99)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        (
            {"kind": "stages", "stages": [[10, 5], [0, 50]]},
            StagesShape((Stage(10, 5), Stage(0, 50))),
        ),
        (
            {"kind": "spike", "baseline_users": 5, "peak_users": 100, "hold_s": 20},
            SpikeShape(5, 100, hold_s=20),
        ),
        (
            {"kind": "step", "step_users": 10, "step_s": 30, "max_users": 100},
            StepShape(10, 30, 100),
        ),
        (
            {"kind": "arrival", "rate_per_s": 25, "users": 100, "duration_s": 60},
            ArrivalShape(25, 100, 60),
        ),
        (
            {"kind": "constant", "users": 5, "spawn_rate": 5, "duration_s": 10},
            ConstantShape(5, 5, 10),
        ),
    ],
)
def test_each_shape_kind_is_read(shape: dict[str, Any], expected: object) -> None:
    assert workload(shape=shape).shape == expected


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"service_url": "127.0.0.1:8080"}, "service_url"),
        ({"operations_path": ""}, "operations_path"),
        ({"login_hint": "buyer@lab.test"}, "login_hint"),
        ({"login_hint": "buyer-{m}@lab.test"}, "login_hint"),
        ({"concert_ids": []}, "concert_ids"),
        ({"concert_ids": [1, 1]}, "concert_ids"),
        ({"seats": {"mode": "nearby"}}, "seats.mode"),
        (
            {"seats": {"mode": "hotspot", "hotspot_share": 1.5, "hotspot_seats": 3}},
            "seats.hotspot_share",
        ),
        ({"seats": {"mode": "hotspot", "hotspot_share": 0.5}}, "seats.hotspot_seats"),
        ({"seats": {"mode": "fixed"}}, "seats.seat_ids"),
        ({"seats": {"mode": "uniform", "hotspot_seats": 3}}, "seats.hotspot_seats"),
        ({"seats_per_hold": [3, 1]}, "seats_per_hold"),
        ({"seats_per_hold": [0, 1]}, "seats_per_hold"),
        ({"think_time_s": [-1, 1]}, "think_time_s"),
        ({"abandon": {"hold": 2}}, "abandon.hold"),
        ({"abandon": {"expire": 0.1}}, "abandon.expire"),
        ({"pay": "yes"}, "pay"),
        ({"warmup_s": -5}, "warmup_s"),
        ({"on_sale_at_s": -1}, "on_sale_at_s"),
        ({"request_timeout_s": 0}, "request_timeout_s"),
        ({"seed": 1.5}, "seed"),
        ({"shape": {"kind": "wave"}}, "shape.kind"),
        ({"shape": {"kind": "stages", "stages": [[10, -1]]}}, "shape.stages[0]"),
        ({"shape": {"kind": "stages", "stages": []}}, "shape.stages"),
        (
            {"shape": {"kind": "step", "step_users": 10, "step_s": 0, "max_users": 50}},
            "shape.step_s",
        ),
        ({"shape": {"kind": "arrival", "rate_per_s": 10, "users": 5}}, "shape.duration_s"),
        ({"shape": {"kind": "stages", "time_scale": 0}}, "shape.time_scale"),
        ({"users": 10}, "users"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(WorkloadError) as caught:
        workload(**fields)
    assert caught.value.field == field
    assert str(caught.value).startswith(field + ": ")


def test_a_missing_required_field_is_named() -> None:
    with pytest.raises(WorkloadError, match=r"^service_url: is required"):
        parse_workload({"operations_path": "x"})
    with pytest.raises(WorkloadError, match=r"^workload: must be a JSON object"):
        parse_workload([])


def test_what_the_runner_writes_locust_reads_back_identically(tmp_path: Path) -> None:
    original = workload(
        seats={"mode": "fixed", "seat_ids": [5, 6]},
        shape={"kind": "spike", "baseline_users": 5, "peak_users": 100},
        abandon={"hold": 0.5},
    )
    path = write_workload(original, tmp_path / "workload.json")
    assert load_workload(path) == original
    for shape in (
        {"kind": "stages", "stages": [[1, 2]]},
        {"kind": "arrival", "rate_per_s": 2, "users": 3, "duration_s": 4},
    ):
        again = workload(shape=shape)
        assert load_workload(write_workload(again, tmp_path / "w.json")) == again


def test_an_unreadable_or_broken_file_is_a_workload_error(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="cannot read"):
        load_workload(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(WorkloadError, match="not JSON"):
        load_workload(broken)
    assert json.loads(json.dumps(workload().to_dict()))["shape"] is None
