"""The workload config: what the buyers do and how many there are, as one JSON file.

The runner builds a ``Workload`` from a scenario, writes it with ``write_workload`` and
passes the path to Locust (``--ticketlab-workload PATH``); every Locust process reads it
with ``load_workload``. JSON rather than pickles or environment variables, so a run
directory can keep the exact workload and a person can rerun Locust by hand with it.

Fields (JSON keys; defaults in brackets)::

    service_url        the booking service, e.g. "http://127.0.0.1:8080"            (required)
    operations_path    where Locust writes the history (operations.jsonl)           (required)
    login_hint         sign-in identity pattern, "{n}" numbers the buyers  ["buyer-{n}@lab.test"]
    concert_ids        concerts to buy from                                              [[1]]
    seats              {"mode": "uniform"}
                       | {"mode": "hotspot", "hotspot_share": 0.8, "hotspot_seats": 20,
                          "hotspot_zone": "A" (optional: the first zone)}
                       | {"mode": "fixed", "seat_ids": [1, 2, 3]}            [{"mode": "uniform"}]
    seats_per_hold     [min, max] seats per hold                                        [[1, 2]]
    think_time_s       [min, max] seconds between steps                             [[0.5, 2.0]]
    abandon            {"hold": p, "reservation": p}: probability of walking away after
                       holding (the hold expires) and after reserving (it expires unpaid)
                                                                  [{"hold": 0, "reservation": 0}]
    pay                pay for reservations (issue 3's endpoints; see users.py)        [false]
    seat_map_form      "compact" (the layout once and a bitmap, as a browser would ask) or
                       "verbose" (one object per seat); buyers revalidate either with
                       If-None-Match and accept gzip                                 ["compact"]
    warmup_s           seconds at the start left out of statistics                          [0]
    on_sale_at_s       seconds after Locust starts when the sale opens: buyers sign in and
                       browse, then all ask for seats at that instant, as at a real on-sale
                       moment (a thundering herd on the hot seats); 0 = open all along      [0]
    request_timeout_s  per request; a timeout is an ``unknown`` outcome                    [10]
    seed               random seed; each buyer's generator derives from it                  [1]
    shape              the load (null: set by hand or by -u/-r/-t):                        [null]
                       {"kind": "stages", "stages": [[120, 100], …] | "seed", "time_scale": 0.125}
                       {"kind": "spike", "baseline_users", "peak_users", "ramp_s", "baseline_s",
                        "rise_s", "hold_s", "drop_s", "after_s", "time_scale"}
                       {"kind": "step", "step_users", "step_s", "max_users", "time_scale"}
                       {"kind": "arrival", "rate_per_s", "users", "duration_s", "time_scale"}
                       {"kind": "constant", "users", "spawn_rate", "duration_s"}

A bad value raises ``WorkloadError`` naming the field (``seats.hotspot_share: must be
between 0 and 1, got 1.5``); unknown keys are errors too, so a typo is not silently a default.
The typed reads themselves are ``scenarios/load/fields.py``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.load.fields import FieldReader, WorkloadError, is_int, is_number
from scenarios.load.seats import SeatSelection
from scenarios.load.shapes import (
    SEED_PROFILE,
    ArrivalShape,
    ConstantShape,
    Shape,
    SpikeShape,
    Stage,
    StagesShape,
    StepShape,
    kind_of,
)

CLI_OPTION = "--ticketlab-workload"
ENV_VAR = "TICKETLAB_WORKLOAD"


@dataclass(frozen=True)
class Abandon:
    """Probabilities of walking away: after holding, and after reserving without paying."""

    hold: float = 0.0
    reservation: float = 0.0


SEAT_MAP_FORMS = ("compact", "verbose")


@dataclass(frozen=True)
class Workload:
    service_url: str
    operations_path: Path
    login_hint: str = "buyer-{n}@lab.test"
    concert_ids: tuple[int, ...] = (1,)
    seats: SeatSelection = field(default_factory=SeatSelection)
    seats_per_hold: tuple[int, int] = (1, 2)
    think_time_s: tuple[float, float] = (0.5, 2.0)
    abandon: Abandon = field(default_factory=Abandon)
    pay: bool = False
    seat_map_form: str = "compact"
    warmup_s: float = 0.0
    on_sale_at_s: float = 0.0
    request_timeout_s: float = 10.0
    seed: int = 1
    shape: Shape | None = None

    def hint_for(self, n: int) -> str:
        return self.login_hint.format(n=n)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["operations_path"] = str(self.operations_path)
        data["seats"] = _selection_dict(self.seats)
        data["shape"] = _shape_dict(self.shape)
        return data


def parse_workload(data: Any) -> Workload:
    """A ``Workload`` from decoded JSON; ``WorkloadError`` names the first bad field."""
    r = FieldReader(data, "")
    workload = Workload(
        service_url=r.url("service_url"),
        operations_path=Path(r.string("operations_path")),
        login_hint=r.hint("login_hint", Workload.login_hint),
        concert_ids=r.ids("concert_ids", Workload.concert_ids),
        seats=_parse_selection(r.section("seats")),
        seats_per_hold=r.int_range("seats_per_hold", Workload.seats_per_hold, low=1),
        think_time_s=r.float_range("think_time_s", Workload.think_time_s),
        abandon=_parse_abandon(r.section("abandon")),
        pay=r.boolean("pay", False),
        seat_map_form=r.choice("seat_map_form", SEAT_MAP_FORMS, Workload.seat_map_form),
        warmup_s=r.number("warmup_s", 0.0, low=0.0),
        on_sale_at_s=r.number("on_sale_at_s", 0.0, low=0.0),
        request_timeout_s=r.number("request_timeout_s", 10.0, low=0.0, low_open=True),
        seed=r.integer("seed", 1),
        shape=_parse_shape(r.optional_section("shape")),
    )
    r.done()
    return workload


def load_workload(path: Path | str) -> Workload:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise WorkloadError("workload", f"cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise WorkloadError("workload", f"{path} is not JSON: {exc}") from exc
    return parse_workload(data)


def write_workload(workload: Workload, path: Path) -> Path:
    path.write_text(json.dumps(workload.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def _parse_selection(r: FieldReader | None) -> SeatSelection:
    if r is None:
        return SeatSelection()
    mode = r.choice("mode", ("uniform", "hotspot", "fixed"), "uniform")
    if mode == "hotspot":
        selection = SeatSelection(
            mode="hotspot",
            hotspot_share=r.number("hotspot_share", None, low=0.0, high=1.0),
            hotspot_seats=r.integer("hotspot_seats", None, low=1),
            hotspot_zone=r.optional_string("hotspot_zone"),
        )
    elif mode == "fixed":
        selection = SeatSelection(mode="fixed", seat_ids=r.ids("seat_ids", None))
    else:
        selection = SeatSelection()
    r.done()
    return selection


def _parse_abandon(r: FieldReader | None) -> Abandon:
    if r is None:
        return Abandon()
    abandon = Abandon(
        hold=r.number("hold", 0.0, low=0.0, high=1.0),
        reservation=r.number("reservation", 0.0, low=0.0, high=1.0),
    )
    r.done()
    return abandon


def _parse_shape(r: FieldReader | None) -> Shape | None:
    if r is None:
        return None
    kind = r.choice("kind", ("stages", "spike", "step", "arrival", "constant"), None)
    shape: Shape
    if kind == "stages":
        shape = StagesShape(_parse_stages(r), _time_scale(r))
    elif kind == "spike":
        shape = SpikeShape(
            baseline_users=r.integer("baseline_users", None, low=0),
            peak_users=r.integer("peak_users", None, low=1),
            ramp_s=r.number("ramp_s", SpikeShape.ramp_s, low=0.0),
            baseline_s=r.number("baseline_s", SpikeShape.baseline_s, low=0.0),
            rise_s=r.number("rise_s", SpikeShape.rise_s, low=0.0),
            hold_s=r.number("hold_s", SpikeShape.hold_s, low=0.0),
            drop_s=r.number("drop_s", SpikeShape.drop_s, low=0.0),
            after_s=r.number("after_s", SpikeShape.after_s, low=0.0),
            time_scale=_time_scale(r),
        )
    elif kind == "step":
        shape = StepShape(
            step_users=r.integer("step_users", None, low=1),
            step_s=r.number("step_s", None, low=0.0, low_open=True),
            max_users=r.integer("max_users", None, low=1),
            time_scale=_time_scale(r),
        )
    elif kind == "arrival":
        shape = ArrivalShape(
            rate_per_s=r.number("rate_per_s", None, low=0.0, low_open=True),
            users=r.integer("users", None, low=1),
            duration_s=r.number("duration_s", None, low=0.0, low_open=True),
            time_scale=_time_scale(r),
        )
    else:
        shape = ConstantShape(
            users=r.integer("users", None, low=1),
            spawn_rate=r.number("spawn_rate", None, low=0.0, low_open=True),
            duration_s=r.number("duration_s", None, low=0.0, low_open=True),
        )
    r.done()
    return shape


def _time_scale(r: FieldReader) -> float:
    return r.number("time_scale", 1.0, low=0.0, low_open=True)


def _parse_stages(r: FieldReader) -> tuple[Stage, ...]:
    raw = r.raw("stages", "seed")
    if raw == "seed":
        return SEED_PROFILE
    name = r.path("stages")
    if not isinstance(raw, list) or not raw:
        raise WorkloadError(
            name, f'must be "seed" or a non-empty list of [seconds, users], got {raw!r}'
        )
    stages = []
    for i, item in enumerate(raw):
        where = f"{name}[{i}]"
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise WorkloadError(where, f"must be [seconds, users], got {item!r}")
        seconds, users = item
        if not is_number(seconds) or seconds < 0:
            raise WorkloadError(
                where, f"duration must be a number of seconds >= 0, got {seconds!r}"
            )
        if not is_int(users) or users < 0:
            raise WorkloadError(where, f"users must be an integer >= 0, got {users!r}")
        stages.append(Stage(float(seconds), int(users)))
    return tuple(stages)


def _selection_dict(selection: SeatSelection) -> dict[str, Any]:
    if selection.mode == "hotspot":
        data: dict[str, Any] = {
            "mode": "hotspot",
            "hotspot_share": selection.hotspot_share,
            "hotspot_seats": selection.hotspot_seats,
        }
        if selection.hotspot_zone is not None:
            data["hotspot_zone"] = selection.hotspot_zone
        return data
    if selection.mode == "fixed":
        return {"mode": "fixed", "seat_ids": list(selection.seat_ids)}
    return {"mode": "uniform"}


def _shape_dict(shape: Shape | None) -> dict[str, Any] | None:
    if shape is None:
        return None
    data = {"kind": kind_of(shape), **dataclasses.asdict(shape)}
    if isinstance(shape, StagesShape):
        data["stages"] = [[s.duration_s, s.target] for s in shape.stages]
    return data
