"""One HTTP exchange → one history ``Operation``: its outcome, problem type, ids.

The outcome rules are ``scenarios.history.outcome_for`` (no answer or a 5xx past the
service's front door is ``unknown``; the overload 503 and 4xx are ``fail``), so a timed-out
payment is never counted as not having happened. On top of that, the load side knows which
refusals are *expected*: a 409 "seats taken" or "ticket limit" on a hold is the service
doing its job under contention, and SLOs on error rates leave it out.

A request the generator's stop interrupted before its answer arrived is ``cut-off``
(``cut_off_operation``), never ``unknown``: it says nothing about the service.

Locust's own statistics get the same judgement (``locust_failure``) so that its web UI and
summary tell expected refusals, contention and unknowns apart by message.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scenarios.history import Operation, Outcome, outcome_for

PROBLEM_BASE = "https://ticketlab.dev/problems/"
# Refusals that are the expected answer to a buyer under contention, by operation.
EXPECTED_PROBLEMS: Mapping[str, frozenset[str]] = {
    "hold": frozenset({PROBLEM_BASE + "seats-taken", PROBLEM_BASE + "ticket-limit"}),
}
CONTENTION = PROBLEM_BASE + "contention"


@dataclass(frozen=True)
class Ids:
    """The ids an operation touched (whatever is known when it ends)."""

    hold_id: int | None = None
    reservation_id: int | None = None
    order_id: str | None = None
    seat_ids: tuple[int, ...] = ()

    def merged(self, other: Ids) -> Ids:
        """These ids, completed by ``other``'s where this one has none."""
        return Ids(
            self.hold_id if self.hold_id is not None else other.hold_id,
            self.reservation_id if self.reservation_id is not None else other.reservation_id,
            self.order_id if self.order_id is not None else other.order_id,
            self.seat_ids or other.seat_ids,
        )


def problem_type(body: Any) -> str | None:
    """The problem+json ``type`` of an error body, if it has one."""
    if isinstance(body, Mapping):
        kind = body.get("type")
        if isinstance(kind, str):
            return kind
    return None


def describe_error(error: BaseException | None) -> str | None:
    """A short, stable reason for an exchange that got no answer (Jepsen's ``info``)."""
    if error is None:
        return None
    name = type(error).__name__
    if isinstance(error, TimeoutError | socket.timeout) or "timeout" in name.lower():
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError):
        return "connection reset"
    text = str(error).strip()
    return f"{name}: {text}"[:200] if text else name


def is_expected(name: str, status: int | None, problem: str | None) -> bool:
    """A refusal the workload expects (not an error for SLOs): 409 seats taken on a hold."""
    return status == 409 and problem in EXPECTED_PROBLEMS.get(name, frozenset())


def is_expected_failure(op: Operation) -> bool:
    """For checkers and reports: leave these out of error rates."""
    return op.outcome is Outcome.FAIL and is_expected(op.name, op.status, op.problem_type)


def ids_from_body(body: Any) -> Ids:
    """Ids in a service answer: a hold (``id``, ``seats``), a reservation, a payment."""
    if not isinstance(body, Mapping):
        return Ids()
    seats = body.get("seats")
    seat_ids: tuple[int, ...] = ()
    if isinstance(seats, Iterable) and not isinstance(seats, str | bytes):
        seat_ids = tuple(int(s["id"]) for s in seats if isinstance(s, Mapping) and "id" in s)
    order = body.get("order_id", body.get("orderId"))
    return Ids(
        hold_id=_int(body.get("hold_id")),
        reservation_id=_int(body.get("reservation_id")),
        order_id=str(order) if order is not None else None,
        seat_ids=seat_ids,
    )


def build_operation(
    name: str,
    process: str,
    *,
    start: float,
    end: float,
    status: int | None,
    body: Any = None,
    error: BaseException | str | None = None,
    request_id: str | None = None,
    intended_start: float | None = None,
    ids: Ids = Ids(),
    headers: Mapping[str, str] | None = None,
) -> Operation:
    """The history record of one exchange; ``status`` 0 or ``None`` means no answer came.

    ``headers`` (lower-case names) give the read's source, version and age when the
    service sent ``X-Read-*``."""
    answered = status if status else None
    outcome = outcome_for(answered)
    problem = problem_type(body) if answered is not None and answered >= 400 else None
    reason = error if isinstance(error, str) or error is None else describe_error(error)
    if outcome is not Outcome.OK and reason is None:
        reason = _reason_for(name, answered, problem)
    return Operation(
        name=name,
        process=process,
        start=start,
        end=end,
        outcome=outcome,
        intended_start=intended_start,
        status=answered,
        problem_type=problem,
        error=reason if outcome is not Outcome.OK else None,
        hold_id=ids.hold_id,
        reservation_id=ids.reservation_id,
        order_id=ids.order_id,
        seat_ids=ids.seat_ids,
        request_id=request_id,
        **read_fields(headers or {}),
    )


def read_fields(headers: Mapping[str, str]) -> dict[str, Any]:
    """``X-Read-Source``/``-Version``/``-Age-Ms`` as Operation fields (absent: none)."""
    source = headers.get("x-read-source")
    if source is None:
        return {}
    return {
        "read_source": source,
        "read_version": _int_text(headers.get("x-read-version")),
        "read_age_ms": _int_text(headers.get("x-read-age-ms")),
    }


def _int_text(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


CUT_OFF_REASON = "cut off: the load generator stopped the user mid-request"


def cut_off_operation(
    name: str,
    process: str,
    *,
    start: float,
    end: float,
    request_id: str | None,
    intended_start: float | None = None,
    ids: Ids = Ids(),
    requests: int = 1,
) -> Operation:
    """The record of a request the generator's stop interrupted before any answer came."""
    return Operation(
        name=name,
        process=process,
        start=start,
        end=end,
        outcome=Outcome.CUT_OFF,
        intended_start=intended_start,
        error=CUT_OFF_REASON,
        hold_id=ids.hold_id,
        reservation_id=ids.reservation_id,
        order_id=ids.order_id,
        seat_ids=ids.seat_ids,
        request_id=request_id,
        requests=requests,
    )


def _reason_for(name: str, status: int | None, problem: str | None) -> str:
    if status is None:
        return "no answer"
    if is_expected(name, status, problem):
        return "expected: " + _short(problem)
    if status == 503 or problem == CONTENTION:
        return "contention"
    return f"{status} {_short(problem)}" if problem else f"HTTP {status}"


def _short(problem: str | None) -> str:
    return (problem or "").removeprefix(PROBLEM_BASE)


def locust_failure(op: Operation) -> str | None:
    """What Locust's statistics should say about ``op``: ``None`` for a success.

    Messages start with the kind (``expected``, ``contention``, ``unknown``, ``fail``) so
    Locust's failures table groups them usefully.
    """
    if op.outcome is Outcome.OK:
        return None
    if op.outcome is Outcome.CUT_OFF:
        return "cut-off"
    if op.outcome is Outcome.UNKNOWN:
        return f"unknown: {op.error or 'no answer'}"
    if is_expected_failure(op):
        return op.error or "expected"
    if op.error == "contention":
        return "contention: 503"
    return f"fail: {op.error}"


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
