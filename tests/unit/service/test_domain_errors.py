"""Domain errors carry what the HTTP layer needs to name the problem."""

from __future__ import annotations

from service.domain.errors import (
    Contention,
    InvalidRequest,
    MalformedInput,
    NotFound,
    ProviderUnavailable,
    SeatsTaken,
    TicketLimitExceeded,
)


def test_seats_taken_lists_each_seat_once_in_order() -> None:
    error = SeatsTaken([9, 1, 9, 4])

    assert error.seat_ids == [1, 4, 9]
    assert str(error) == "seats already taken: 1, 4, 9"


def test_not_found_names_the_kind_and_the_id() -> None:
    error = NotFound("hold", 42)

    assert (error.kind, error.ident, str(error)) == ("hold", 42, "hold 42 not found")


def test_an_invalid_request_keeps_its_detail_and_field_errors() -> None:
    error = InvalidRequest("bad seats", {"seat_ids": "must be unique"})

    assert (str(error), error.field_errors) == ("bad seats", {"seat_ids": "must be unique"})
    assert InvalidRequest("no fields").field_errors == {}
    assert isinstance(MalformedInput("not json"), InvalidRequest)


def test_the_ticket_limit_says_how_many_and_how_many_more() -> None:
    error = TicketLimitExceeded(4, 3, 2)

    assert (error.limit, error.already, error.requested) == (4, 3, 2)
    assert str(error) == (
        "the limit is 4 seats per member for this concert; you already have 3 and asked for 2"
    )


def test_contention_keeps_its_reason() -> None:
    error = Contention("lock wait timeout")

    assert (error.reason, str(error)) == ("lock wait timeout", "lock wait timeout")


def test_a_provider_unreachable_is_told_apart_from_one_that_answered_badly() -> None:
    unreachable = ProviderUnavailable("payment provider unreachable", provider="payment")
    answered = ProviderUnavailable("bad answer", provider="identity", answered=True)

    assert (unreachable.answered, answered.answered) == (False, True)
    assert str(unreachable) == "payment provider unreachable"
    assert (unreachable.code, answered.code) == (
        "payment-provider-unavailable",
        "identity-provider-unavailable",
    )
