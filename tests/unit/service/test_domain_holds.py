"""Hold rules without I/O: request validation, the ticket limit, amounts and states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.domain.errors import InvalidRequest, InvalidState, TicketLimitExceeded
from service.domain.holds import (
    Hold,
    HoldStatus,
    SeatRef,
    check_ticket_limit,
    hold_amount,
    hold_expiry,
    normalize_seat_request,
)

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def hold(status: HoldStatus = HoldStatus.ACTIVE, ttl_s: float = 60) -> Hold:
    return Hold(1, 1, 1, status, 0, NOW, NOW + timedelta(seconds=ttl_s))


def test_a_seat_request_is_sorted_so_every_strategy_locks_in_one_order() -> None:
    assert normalize_seat_request([5, 2, 9], max_seats=10) == [2, 5, 9]


@pytest.mark.parametrize(
    ("seat_ids", "field_error"),
    [
        ([], "must not be empty"),
        ([1, 2, 1], "must be unique"),
        ([1, 2, 3, 4], "at most 3 items"),
        ([1, -2], "must be positive"),
    ],
)
def test_a_malformed_seat_request_names_what_is_wrong(
    seat_ids: list[int], field_error: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        normalize_seat_request(seat_ids, max_seats=3)
    assert refused.value.field_errors == {"seat_ids": field_error}


def test_reaching_the_ticket_limit_exactly_is_allowed() -> None:
    check_ticket_limit(limit=3, already_held=1, requested=2)


def test_going_past_the_ticket_limit_says_by_how_much() -> None:
    with pytest.raises(TicketLimitExceeded) as refused:
        check_ticket_limit(limit=3, already_held=2, requested=2)
    assert (refused.value.limit, refused.value.already, refused.value.requested) == (3, 2, 2)


def test_a_hold_costs_the_sum_of_its_seat_prices() -> None:
    seats = [SeatRef(1, "A", "a", 1, 150_000), SeatRef(2, "M", "a", 1, 50_000)]
    assert hold_amount(seats) == 200_000


def test_a_hold_expires_after_the_ttl() -> None:
    assert hold_expiry(NOW, 1.5) == NOW + timedelta(seconds=1.5)


def test_a_hold_is_expired_from_its_expiry_instant_on() -> None:
    h = hold(ttl_s=60)
    assert not h.is_expired(h.expires_at - timedelta(microseconds=1))
    assert h.is_expired(h.expires_at)


def test_an_active_unexpired_hold_can_be_converted_and_released() -> None:
    h = hold()
    h.ensure_convertible(NOW)
    h.ensure_releasable()


def test_an_expired_hold_cannot_be_converted() -> None:
    h = hold(ttl_s=60)
    with pytest.raises(InvalidState):
        h.ensure_convertible(h.expires_at)


@pytest.mark.parametrize("status", [HoldStatus.CONVERTED, HoldStatus.RELEASED])
def test_only_an_active_hold_can_be_converted_or_released(status: HoldStatus) -> None:
    h = hold(status)
    with pytest.raises(InvalidState):
        h.ensure_convertible(NOW)
    with pytest.raises(InvalidState):
        h.ensure_releasable()


def test_seat_id_1_is_a_valid_seat_and_0_is_not() -> None:
    assert normalize_seat_request([1], max_seats=1) == [1]
    with pytest.raises(InvalidRequest, match="positive"):
        normalize_seat_request([0, 1], max_seats=2)


def test_exactly_the_maximum_number_of_seats_is_allowed() -> None:
    assert normalize_seat_request([3, 2, 1], max_seats=3) == [1, 2, 3]
    with pytest.raises(InvalidRequest, match="at most 2 seats per hold, got 3"):
        normalize_seat_request([3, 2, 1], max_seats=2)


@pytest.mark.parametrize("status", [HoldStatus.CONVERTED, HoldStatus.RELEASED])
def test_a_hold_that_is_not_active_says_what_it_is(status: HoldStatus) -> None:
    with pytest.raises(InvalidState, match=f"^hold 1 is {status.value.lower()}, not active$"):
        hold(status).ensure_convertible(NOW)
    with pytest.raises(InvalidState, match=f"^hold 1 is {status.value.lower()}, not active$"):
        hold(status).ensure_releasable()
