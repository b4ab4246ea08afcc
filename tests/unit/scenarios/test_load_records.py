"""Building history records from HTTP exchanges: outcomes, expected refusals, ids."""

from __future__ import annotations

from scenarios.history import Operation, Outcome
from scenarios.load.records import (
    PROBLEM_BASE,
    Ids,
    build_operation,
    describe_error,
    ids_from_body,
    is_expected_failure,
    locust_failure,
)

SEATS_TAKEN = {"type": PROBLEM_BASE + "seats-taken", "status": 409, "seat_ids": [3]}
CONTENTION = {"type": PROBLEM_BASE + "contention", "status": 503, "reason": "lock wait"}


def op(name: str, status: int | None, body: object = None, **kw: object) -> Operation:
    return build_operation(
        name, "pid1-user-1", start=10.0, end=10.5, status=status, body=body, **kw
    )  # type: ignore[arg-type]


def test_a_201_hold_is_ok_with_its_ids() -> None:
    hold = op("hold", 201, {"id": 8}, ids=Ids(hold_id=8, seat_ids=(1, 2)), request_id="r1")
    assert hold.outcome is Outcome.OK
    assert (hold.hold_id, hold.seat_ids, hold.request_id) == (8, (1, 2), "r1")
    assert hold.error is None and hold.problem_type is None
    assert locust_failure(hold) is None


def test_a_409_seats_taken_hold_is_an_expected_fail() -> None:
    refused = op("hold", 409, SEATS_TAKEN)
    assert refused.outcome is Outcome.FAIL
    assert refused.problem_type == PROBLEM_BASE + "seats-taken"
    assert is_expected_failure(refused)
    assert refused.error == "expected: seats-taken"
    assert locust_failure(refused) == "expected: seats-taken"


def test_a_409_elsewhere_is_a_plain_fail() -> None:
    late = op("reserve", 409, {"type": PROBLEM_BASE + "invalid-state"})
    assert late.outcome is Outcome.FAIL and not is_expected_failure(late)
    assert locust_failure(late) == "fail: 409 invalid-state"


def test_a_503_is_contention_a_certain_fail() -> None:
    busy = op("hold", 503, CONTENTION)
    assert busy.outcome is Outcome.FAIL and busy.error == "contention"
    assert not is_expected_failure(busy)
    assert locust_failure(busy) == "contention: 503"


def test_a_timeout_is_unknown_never_fail() -> None:
    for error in (TimeoutError("timed out"), OSError(110, "Connection timed out")):
        timed_out = op("confirm", 0, error=error)
        assert timed_out.outcome is Outcome.UNKNOWN
        assert timed_out.status is None and timed_out.error == "timeout"
        assert locust_failure(timed_out) == "unknown: timeout"


def test_a_refused_connection_and_a_500_are_unknown() -> None:
    refused = op("hold", None, error=ConnectionRefusedError(111, "refused"))
    assert (refused.outcome, refused.error) == (Outcome.UNKNOWN, "connection refused")
    crashed = op("confirm", 500, {"type": PROBLEM_BASE + "internal"})
    assert crashed.outcome is Outcome.UNKNOWN
    assert crashed.error == "500 internal"


def test_the_intended_start_is_kept_for_open_model_latency() -> None:
    queued = op("hold", 201, intended_start=8.0)
    assert queued.latency_s == 2.5 and queued.service_time_s == 0.5


def test_records_round_trip_through_the_history_format() -> None:
    original = op("hold", 409, SEATS_TAKEN, ids=Ids(seat_ids=(3,)), request_id="abc")
    assert Operation.from_dict(original.to_dict()) == original


def test_ids_are_read_from_reservation_and_payment_answers() -> None:
    body = {"id": 5, "hold_id": 8, "order_id": "ord_1", "seats": [{"id": 1}, {"id": 2}]}
    assert ids_from_body(body) == Ids(hold_id=8, order_id="ord_1", seat_ids=(1, 2))
    assert ids_from_body({"orderId": "ord_2"}).order_id == "ord_2"
    assert Ids(hold_id=1).merged(Ids(hold_id=2, order_id="o")) == Ids(hold_id=1, order_id="o")


def test_error_descriptions_are_short_and_stable() -> None:
    assert describe_error(None) is None
    assert describe_error(ConnectionResetError()) == "connection reset"
    assert describe_error(ValueError("x" * 500)).startswith("ValueError: x")  # type: ignore[union-attr]
    assert len(describe_error(ValueError("x" * 500)) or "") == 200
