"""The history of a run: every client operation and every fault, in one record stream.

Borrowed from Jepsen: checkers and charts read one history, so a fault window can be
shaded on any chart and an operation's outcome judged against the faults around it.

Outcomes
    ``ok``      the operation certainly happened (a 2xx answer);
    ``fail``    it certainly did not happen (a 4xx problem, or a 5xx the service documents as
                refused before any change, such as the 503 of a lock-wait or pool timeout);
    ``unknown`` it may or may not have happened: a timeout, a dropped connection, a 5xx
                after the request reached the service. A timed-out payment is ``unknown``,
                never ``fail`` — the provider may have captured it.
    ``cut-off`` the load generator stopped the user while the request was in flight: like
                ``unknown`` it may have happened, but the service was never given the
                time to answer, so it says nothing about the service. Shown apart, and
                left out of error rates, throughput and percentiles. A request whose
                answer had arrived (its status line, at least) is never cut off: it gets
                the outcome of what the service answered.

Times
    All times are **float seconds since the Unix epoch** (``time.time()``), not a monotonic
    clock: the load generator runs in its own process, and the history has to line up with
    database timestamps, scraped metrics and resource samples taken by other processes on
    the same machine. Durations are differences of two times on one machine, which is all
    the lab needs.

``operations.jsonl`` (part of the run-directory contract, format version 2)
    UTF-8 text, one JSON object per line, in the order the records were written (not
    necessarily sorted by time). Each object has a ``"type"``:

    ``"op"`` — a client operation::

        {"type": "op", "name": "hold", "process": "user-17",
         "intended_start": 1718000000.25, "start": 1718000000.31, "end": 1718000000.52,
         "outcome": "ok", "status": 201, "problem_type": null, "error": null,
         "hold_id": 812, "reservation_id": null, "order_id": null, "seat_ids": [41, 42],
         "request_id": "c0ffee"}

    ``name`` is one of ``sign_in``, ``browse``, ``seat_map``, ``hold``, ``reserve``,
    ``pay``, ``confirm`` … (free text: the workload names its operations);
    ``intended_start`` is when an open-model schedule meant to send the request (``null``
    for a closed model), so latency can be measured from it; ``status`` is the HTTP status
    or ``null`` when no answer came; ``problem_type`` is the problem+json ``type``;
    ``error`` a short reason for ``fail``/``unknown`` (``"timeout"``, ``"connection reset"``);
    ``requests`` (since version 2, written only when not 1) is how many HTTP requests the
    operation sent: a ``sign_in`` follows redirects by hand and sends up to three (login,
    the provider's authorize, callback), the last of them the one cut off if any.
    ``read_source``, ``read_version``, ``read_age_ms`` (written only on reads that carry
    them: ``browse``, ``zones``, ``seat_map``) are the service's ``X-Read-*`` headers:
    where the answer came from (cache, primary, replica), the zone version, and how old it
    may be; a 304 keeps the headers of the revalidation. ``shown_free`` (on a ``hold``) is
    the seats of the hold that the buyer's last seat map showed available: the lab counts
    stale reads from them (``scenarios/reads.py``).

    ``"fault"`` — a nemesis operation::

        {"type": "fault", "kind": "psp-latency", "start": 1718000030.0,
         "end": 1718000060.0, "target": "psp", "params": {"p50_ms": 800}, "note": null}

    ``end`` is ``null`` when the fault was still on when the run stopped.

    Readers ignore keys they do not know, so later versions may add fields; a missing
    required key or an unknown ``type`` is an error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

FORMAT_VERSION = 2


class Outcome(StrEnum):
    """Jepsen's ok / fail / info, with ``info`` spelled ``unknown``; plus ``cut-off``."""

    OK = "ok"
    FAIL = "fail"
    UNKNOWN = "unknown"
    CUT_OFF = "cut-off"


def outcome_for(status: int | None, *, refused_statuses: Iterable[int] = (503,)) -> Outcome:
    """The outcome a plain HTTP exchange implies.

    No answer (``None``) is ``unknown``; 2xx/3xx is ``ok``; 4xx is ``fail``; a 5xx is
    ``unknown`` unless the service documents it as refused before any change
    (``refused_statuses``, by default the overload 503).
    """
    if status is None:
        return Outcome.UNKNOWN
    if status < 400:
        return Outcome.OK
    if status < 500 or status in set(refused_statuses):
        return Outcome.FAIL
    return Outcome.UNKNOWN


@dataclass(frozen=True)
class Operation:
    """One client request and what became of it."""

    name: str
    process: str
    start: float
    end: float
    outcome: Outcome
    intended_start: float | None = None
    status: int | None = None
    problem_type: str | None = None
    error: str | None = None
    hold_id: int | None = None
    reservation_id: int | None = None
    order_id: str | None = None
    seat_ids: tuple[int, ...] = ()
    request_id: str | None = None
    requests: int = 1
    read_source: str | None = None
    read_version: int | None = None
    read_age_ms: int | None = None
    shown_free: tuple[int, ...] = ()

    @property
    def service_time_s(self) -> float:
        """From the moment the request was sent: what the server made this client wait."""
        return self.end - self.start

    @property
    def latency_s(self) -> float:
        """From the intended start when there is one, so queueing in the generator counts.

        This is the coordinated-omission-safe latency: a stalled server delays later
        requests' actual starts, and only the intended start shows that wait.
        """
        begin = self.start if self.intended_start is None else self.intended_start
        return self.end - begin

    @property
    def scheduled_at(self) -> float:
        """When the operation was meant to begin (intended start, else actual start)."""
        return self.start if self.intended_start is None else self.intended_start

    def to_dict(self) -> dict[str, Any]:
        extra: dict[str, Any] = {} if self.requests == 1 else {"requests": self.requests}
        if self.read_source is not None:
            extra.update(
                read_source=self.read_source,
                read_version=self.read_version,
                read_age_ms=self.read_age_ms,
            )
        if self.shown_free:
            extra["shown_free"] = list(self.shown_free)
        return {
            "type": "op",
            "name": self.name,
            "process": self.process,
            "intended_start": self.intended_start,
            "start": self.start,
            "end": self.end,
            "outcome": self.outcome.value,
            "status": self.status,
            "problem_type": self.problem_type,
            "error": self.error,
            "hold_id": self.hold_id,
            "reservation_id": self.reservation_id,
            "order_id": self.order_id,
            "seat_ids": list(self.seat_ids),
            "request_id": self.request_id,
            **extra,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Operation:
        return cls(
            name=str(data["name"]),
            process=str(data["process"]),
            intended_start=_opt_float(data.get("intended_start")),
            start=float(data["start"]),
            end=float(data["end"]),
            outcome=Outcome(data["outcome"]),
            status=_opt_int(data.get("status")),
            problem_type=data.get("problem_type"),
            error=data.get("error"),
            hold_id=_opt_int(data.get("hold_id")),
            reservation_id=_opt_int(data.get("reservation_id")),
            order_id=data.get("order_id"),
            seat_ids=tuple(int(s) for s in data.get("seat_ids") or ()),
            request_id=data.get("request_id"),
            requests=int(data.get("requests", 1)),
            read_source=data.get("read_source"),
            read_version=_opt_int(data.get("read_version")),
            read_age_ms=_opt_int(data.get("read_age_ms")),
            shown_free=tuple(int(s) for s in data.get("shown_free") or ()),
        )


@dataclass(frozen=True)
class Fault:
    """A nemesis operation: a fault switched on at ``start`` and off at ``end``."""

    kind: str
    start: float
    end: float | None = None
    target: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    note: str | None = None

    def active_at(self, t: float) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "fault",
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "target": self.target,
            "params": dict(self.params),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        return cls(
            kind=str(data["kind"]),
            start=float(data["start"]),
            end=_opt_float(data.get("end")),
            target=data.get("target"),
            params=dict(data.get("params") or {}),
            note=data.get("note"),
        )


Record = Operation | Fault


def record_from_dict(data: Mapping[str, Any]) -> Record:
    kind = data.get("type")
    if kind == "op":
        return Operation.from_dict(data)
    if kind == "fault":
        return Fault.from_dict(data)
    raise ValueError(f"unknown history record type {kind!r} (expected 'op' or 'fault')")


def to_json_line(record: Record) -> str:
    """One line of ``operations.jsonl``, without the trailing newline."""
    return json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False)


def from_json_line(line: str) -> Record:
    return record_from_dict(json.loads(line))


@dataclass(frozen=True)
class History:
    """A run's records. Order is as written; helpers give the views checkers need."""

    records: tuple[Record, ...] = ()

    @classmethod
    def of(cls, records: Iterable[Record]) -> History:
        return cls(tuple(records))

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(r for r in self.records if isinstance(r, Operation))

    @property
    def faults(self) -> tuple[Fault, ...]:
        return tuple(r for r in self.records if isinstance(r, Fault))

    def named(self, name: str) -> tuple[Operation, ...]:
        return tuple(op for op in self.operations if op.name == name)

    def to_jsonl(self) -> str:
        """The whole ``operations.jsonl`` text, one record per line, newline-terminated."""
        return "".join(to_json_line(r) + "\n" for r in self.records)

    @classmethod
    def from_jsonl(cls, lines: str | Iterable[str]) -> History:
        """Parse ``operations.jsonl`` text (or its lines); blank lines are skipped."""
        if isinstance(lines, str):
            lines = lines.splitlines()
        return cls(tuple(_parse(lines)))


def _parse(lines: Iterable[str]) -> Iterator[Record]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield from_json_line(line)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"operations.jsonl line {number}: {exc}") from exc


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
