"""Toxiproxy's toxics as data: the JSON a client sends, checked, and the JSON it gets back.

A toxic is what Toxiproxy 2.x documents: ``name`` (default ``<type>_<stream>``), ``type``,
``stream`` (``upstream`` client→server, ``downstream`` server→client; default downstream),
``toxicity`` (the chance that a connection is affected, default 1.0) and ``attributes``
(integers; absent ones are 0). What a toxic does to a connection lives in ``links.py``.

Where Toxiproxy silently ignores an attribute it does not know (a typo such as
``latancy`` would inject nothing), this proxy answers 400 naming it: a fault that is not
injected must not look injected.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

UPSTREAM, DOWNSTREAM = "upstream", "downstream"
STREAMS = (UPSTREAM, DOWNSTREAM)

# type → its attributes (all integers, default 0), with the unit Toxiproxy documents.
ATTRIBUTES: dict[str, dict[str, str]] = {
    "latency": {"latency": "ms", "jitter": "ms"},
    "bandwidth": {"rate": "KB/s"},
    "slow_close": {"delay": "ms"},
    "timeout": {"timeout": "ms"},
    "reset_peer": {"timeout": "ms"},
    "slicer": {"average_size": "bytes", "size_variation": "bytes", "delay": "µs"},
    "limit_data": {"bytes": "bytes"},
}
TOXIC_TYPES = tuple(ATTRIBUTES)

_serial = itertools.count(1)


class ApiError(Exception):
    """An answer of the API other than success: Toxiproxy's ``{"error", "status"}`` body."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "status": self.status}


def bad_request(detail: str) -> ApiError:
    return ApiError(f"bad request body: {detail}", 400)


@dataclass(frozen=True)
class Toxic:
    """One toxic on one proxy.

    ``ident`` stays for the toxic's life, so per-connection state (bytes counted by
    ``limit_data``) survives an update as in Toxiproxy; ``serial`` changes on every update,
    so each connection rolls ``toxicity`` afresh for the new version.
    """

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, int]
    serial: int = field(default_factory=lambda: next(_serial))
    ident: int = 0

    def __post_init__(self) -> None:
        if not self.ident:
            object.__setattr__(self, "ident", self.serial)

    def attr(self, name: str) -> int:
        return int(self.attributes.get(name, 0))

    def to_json(self) -> dict[str, Any]:
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
        }


def parse_toxic(body: Any) -> Toxic:
    """A new toxic from a ``POST /proxies/{proxy}/toxics`` body; ApiError 400 when bad."""
    if not isinstance(body, Mapping):
        raise bad_request("expected a JSON object")
    kind = body.get("type")
    if kind not in ATTRIBUTES:
        raise ApiError(f"invalid toxic type: {kind!r}; known: {', '.join(TOXIC_TYPES)}", 400)
    stream = body.get("stream") or DOWNSTREAM
    if stream not in STREAMS:
        raise ApiError("stream was invalid, can be either upstream or downstream", 400)
    name = body.get("name") or f"{kind}_{stream}"
    if not isinstance(name, str):
        raise bad_request(f"name must be a string, got {name!r}")
    toxicity = _toxicity(body.get("toxicity", 1.0))
    attributes = _attributes(kind, body.get("attributes") or {}, {})
    return Toxic(name, kind, stream, toxicity, attributes)


def update_toxic(toxic: Toxic, body: Any) -> Toxic:
    """``POST /proxies/{proxy}/toxics/{toxic}``: attributes and toxicity change, the rest stays."""
    if not isinstance(body, Mapping):
        raise bad_request("expected a JSON object")
    toxicity = _toxicity(body.get("toxicity", toxic.toxicity))
    attributes = _attributes(toxic.type, body.get("attributes") or {}, toxic.attributes)
    return replace(toxic, toxicity=toxicity, attributes=attributes, serial=next(_serial))


def _toxicity(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise bad_request(f"toxicity must be a number from 0 to 1, got {value!r}")
    return float(value)


def _attributes(kind: str, given: Any, previous: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(given, Mapping):
        raise bad_request(f"attributes must be an object, got {given!r}")
    known = ATTRIBUTES[kind]
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise bad_request(
            f"{kind} has no attribute {', '.join(unknown)}; it has {', '.join(known)}"
        )
    values = {name: int(previous.get(name, 0)) for name in known}
    for name, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad_request(
                f"{kind}.{name} must be a whole number ≥ 0 ({known[name]}), got {value!r}"
            )
        values[name] = value
    if kind == "slicer":
        if values["average_size"] < 1:
            raise bad_request("slicer.average_size must be at least 1 byte")
        if values["size_variation"] >= values["average_size"]:
            raise bad_request("slicer.size_variation must be smaller than average_size")
    return values
