"""Switchable faults: what can go wrong at the provider, as one validated JSON document.

The same document is accepted at start (``--faults``/``--faults-file``) and at run time
(``PUT /_lab/faults``), and a ``PUT`` replaces the whole document (absent keys take their
defaults), so a scenario's nemesis states the fault set it wants rather than a diff.
Validation is strict — an unknown key or a bad value is refused with the field's name —
because a misspelled fault that silently does nothing would make a scenario lie.

Schema (every key optional; defaults shown)::

    {
      "confirm_latency": {"kind": "none"},      # or {"kind": "fixed", "ms": 50}
                                                #    {"kind": "uniform", "min_ms": 10, "max_ms": 90}
                                                #    {"kind": "exponential", "mean_ms": 30,
                                                #     "max_ms": 1000}   (max_ms optional cap)
      "timeout_rate": 0.0,          # share of approved confirms whose answer is withheld
      "timeout_mode": "late",       # "late": answer after timeout_late_ms;
                                    # "never": hold until the client hangs up
      "timeout_late_ms": 5000,
      "error_5xx_rate": 0.0,        # share of confirms answered 500
      "error_5xx_mode": "before",   # "before": nothing captured; "after": captured, then 500
      "decline_rate": 0.0,          # share of confirms declined (403 REJECT_CARD_PAYMENT, ABORTED)
      "webhook_duplicate_rate": 0.0,    # share of events delivered a second time (same eventId)
      "webhook_out_of_order_rate": 0.0, # share of events held back until the payment's next
                                        # event was delivered (older status after newer)
      "webhook_delay_ms": 0,            # wait before each event's first attempt
      "webhook_drop_first_rate": 0.0    # share of events whose first attempt is dropped
    }

Rates are probabilities in [0, 1], drawn from the provider's seeded ``random.Random``.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

LATENCY_KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # kind -> (required keys, optional keys), besides "kind"
    "none": (frozenset(), frozenset()),
    "fixed": (frozenset({"ms"}), frozenset()),
    "uniform": (frozenset({"min_ms", "max_ms"}), frozenset()),
    "exponential": (frozenset({"mean_ms"}), frozenset({"max_ms"})),
}
TIMEOUT_MODES = ("late", "never")
ERROR_5XX_MODES = ("before", "after")


class FaultsError(ValueError):
    """The faults document is invalid; ``field`` names the offending key."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True)
class Latency:
    kind: str = "none"
    ms: float = 0.0
    min_ms: float = 0.0
    max_ms: float | None = None
    mean_ms: float = 0.0

    def sample_s(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            ms = self.ms
        elif self.kind == "uniform":
            ms = rng.uniform(self.min_ms, self.max_ms or self.min_ms)
        elif self.kind == "exponential":
            ms = rng.expovariate(1.0 / self.mean_ms) if self.mean_ms > 0 else 0.0
            if self.max_ms is not None:
                ms = min(ms, self.max_ms)
        else:
            ms = 0.0
        return ms / 1000.0

    def to_json(self) -> dict[str, Any]:
        required, optional = LATENCY_KINDS[self.kind]
        out: dict[str, Any] = {"kind": self.kind}
        for key in sorted(required | optional):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class Faults:
    confirm_latency: Latency = field(default_factory=Latency)
    timeout_rate: float = 0.0
    timeout_mode: str = "late"
    timeout_late_ms: float = 5000.0
    error_5xx_rate: float = 0.0
    error_5xx_mode: str = "before"
    decline_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_out_of_order_rate: float = 0.0
    webhook_delay_ms: float = 0.0
    webhook_drop_first_rate: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["confirm_latency"] = self.confirm_latency.to_json()
        return out

    @classmethod
    def parse(cls, document: Any) -> Faults:
        if not isinstance(document, dict):
            raise FaultsError("(document)", "expected a JSON object")
        known = {f.name for f in fields(cls)}
        for key in document:
            if key not in known:
                raise FaultsError(str(key), f"unknown fault; known: {', '.join(sorted(known))}")
        values: dict[str, Any] = {}
        for key, value in document.items():
            if key == "confirm_latency":
                values[key] = _latency(value)
            elif key.endswith("_rate"):
                values[key] = _number(key, value, low=0.0, high=1.0)
            elif key.endswith("_ms"):
                values[key] = _number(key, value, low=0.0)
            elif key == "timeout_mode":
                values[key] = _choice(key, value, TIMEOUT_MODES)
            elif key == "error_5xx_mode":
                values[key] = _choice(key, value, ERROR_5XX_MODES)
        return cls(**values)

    @classmethod
    def from_text(cls, text: str) -> Faults:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FaultsError("(document)", f"not valid JSON: {exc.msg}") from None
        return cls.parse(document)


def _number(name: str, value: Any, *, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultsError(name, f"expected a number, got {json.dumps(value)}")
    number = float(value)
    if not math.isfinite(number) or number < low or (high is not None and number > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise FaultsError(name, f"must be {bound}, got {value}")
    return number


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise FaultsError(name, f"must be one of {', '.join(allowed)}, got {json.dumps(value)}")
    return str(value)


def _latency(value: Any) -> Latency:
    name = "confirm_latency"
    if not isinstance(value, dict):
        raise FaultsError(name, "expected an object with a 'kind'")
    kind = value.get("kind")
    if kind not in LATENCY_KINDS:
        raise FaultsError(
            f"{name}.kind", f"must be one of {', '.join(LATENCY_KINDS)}, got {json.dumps(kind)}"
        )
    required, optional = LATENCY_KINDS[kind]
    for key in value:
        if key != "kind" and key not in required | optional:
            raise FaultsError(f"{name}.{key}", f"not a parameter of kind {kind!r}")
    for key in required:
        if key not in value:
            raise FaultsError(f"{name}.{key}", f"required for kind {kind!r}")
    params = {k: _number(f"{name}.{k}", v, low=0.0) for k, v in value.items() if k != "kind"}
    if kind == "uniform" and params["max_ms"] < params["min_ms"]:
        raise FaultsError(f"{name}.max_ms", "must not be less than min_ms")
    return Latency(kind=kind, **params)


class FaultDice:
    """Draws every fault decision from one seeded generator so a run can be replayed."""

    def __init__(self, seed: int | None) -> None:
        self.rng = random.Random(seed)

    def hit(self, rate: float) -> bool:
        # Always draw, even at rate 0, so changing one rate does not shift other decisions.
        return self.rng.random() < rate
