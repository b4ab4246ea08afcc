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
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


class WorkloadError(ValueError):
    """A workload value that cannot be used; ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


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
    r = _Reader(data, "")
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


def _parse_selection(r: _Reader | None) -> SeatSelection:
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


def _parse_abandon(r: _Reader | None) -> Abandon:
    if r is None:
        return Abandon()
    abandon = Abandon(
        hold=r.number("hold", 0.0, low=0.0, high=1.0),
        reservation=r.number("reservation", 0.0, low=0.0, high=1.0),
    )
    r.done()
    return abandon


def _parse_shape(r: _Reader | None) -> Shape | None:
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


def _time_scale(r: _Reader) -> float:
    return r.number("time_scale", 1.0, low=0.0, low_open=True)


def _parse_stages(r: _Reader) -> tuple[Stage, ...]:
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
        if not _is_number(seconds) or seconds < 0:
            raise WorkloadError(
                where, f"duration must be a number of seconds >= 0, got {seconds!r}"
            )
        if not _is_int(users) or users < 0:
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


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Reader:
    """Typed reads from one JSON object, tracking which keys were used to reject the rest."""

    def __init__(self, data: Any, prefix: str) -> None:
        if not isinstance(data, Mapping):
            raise WorkloadError(prefix or "workload", f"must be a JSON object, got {data!r}")
        self.data, self.prefix, self.used = data, prefix, set[str]()

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def raw(self, key: str, default: Any) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if default is None:
                raise WorkloadError(self.path(key), "is required")
            return default
        return self.data[key]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise WorkloadError(self.path(unknown[0]), "is not a known field")

    def section(self, key: str) -> _Reader | None:
        self.used.add(key)
        value = self.data.get(key)
        return None if value is None else _Reader(value, self.path(key))

    optional_section = section

    def string(self, key: str, default: str | None = None) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            raise WorkloadError(self.path(key), f"must be a non-empty string, got {value!r}")
        return value

    def optional_string(self, key: str) -> str | None:
        self.used.add(key)
        return None if self.data.get(key) is None else self.string(key)

    def url(self, key: str) -> str:
        value = self.string(key)
        if not value.startswith(("http://", "https://")):
            raise WorkloadError(self.path(key), f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def hint(self, key: str, default: str) -> str:
        value = self.string(key, default)
        try:
            value.format(n=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise WorkloadError(self.path(key), f"must use only {{n}}, got {value!r}") from exc
        if "{n}" not in value:
            raise WorkloadError(
                self.path(key), f"must contain {{n}} to tell buyers apart: {value!r}"
            )
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None) -> str:
        value = self.raw(key, default)
        if value not in options:
            raise WorkloadError(
                self.path(key), f"must be one of {', '.join(options)}; got {value!r}"
            )
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise WorkloadError(self.path(key), f"must be true or false, got {value!r}")
        return value

    def number(
        self,
        key: str,
        default: float | None,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
    ) -> float:
        value = self.raw(key, default)
        if not _is_number(value):
            raise WorkloadError(self.path(key), f"must be a number, got {value!r}")
        if low is not None and (value <= low if low_open else value < low):
            bound = f"> {low:g}" if low_open else f">= {low:g}"
            raise WorkloadError(self.path(key), f"must be {bound}, got {value!r}")
        if high is not None and value > high:
            raise WorkloadError(
                self.path(key), f"must be between {low:g} and {high:g}, got {value!r}"
            )
        return float(value)

    def integer(self, key: str, default: int | None, *, low: int | None = None) -> int:
        value = self.raw(key, default)
        if not _is_int(value):
            raise WorkloadError(self.path(key), f"must be an integer, got {value!r}")
        if low is not None and value < low:
            raise WorkloadError(self.path(key), f"must be >= {low}, got {value!r}")
        return value

    def ids(self, key: str, default: tuple[int, ...] | None) -> tuple[int, ...]:
        value = self.raw(key, default)
        if not isinstance(value, list | tuple) or not value:
            raise WorkloadError(self.path(key), f"must be a non-empty list of ids, got {value!r}")
        if not all(_is_int(v) and v > 0 for v in value):
            raise WorkloadError(self.path(key), f"ids must be positive integers, got {value!r}")
        if len(set(value)) != len(value):
            raise WorkloadError(self.path(key), f"ids must be unique, got {value!r}")
        return tuple(value)

    def int_range(self, key: str, default: tuple[int, int], *, low: int) -> tuple[int, int]:
        value = self.raw(key, default)
        if not (isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_int, value))):
            raise WorkloadError(self.path(key), f"must be [min, max] integers, got {value!r}")
        lo, hi = value
        if lo < low or hi < lo:
            raise WorkloadError(self.path(key), f"must have {low} <= min <= max, got {value!r}")
        return int(lo), int(hi)

    def float_range(self, key: str, default: tuple[float, float]) -> tuple[float, float]:
        value = self.raw(key, default)
        if not (
            isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_number, value))
        ):
            raise WorkloadError(self.path(key), f"must be [min, max] numbers, got {value!r}")
        lo, hi = value
        if lo < 0 or hi < lo:
            raise WorkloadError(self.path(key), f"must have 0 <= min <= max, got {value!r}")
        return float(lo), float(hi)
