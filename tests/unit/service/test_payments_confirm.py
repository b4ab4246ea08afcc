"""Confirming a payment, on fakes: the amount check, the provider's answers, and what the
member is told. The same flows against MariaDB and the lab provider are in
``tests/integration/payments``."""

from __future__ import annotations

import dataclasses

import pytest

from service.domain.errors import NotFound, ProviderUnavailable
from service.domain.payments import (
    AmountMismatch,
    Outcome,
    PaymentDeclined,
    PaymentRejected,
    PaymentStatus,
    ProviderMisbehaved,
    ReservationExpired,
)
from service.domain.reservations import ReservationStatus
from service.ports import Refused, Unreachable
from service.usecases.payments.confirm import confirm_payment
from tests.unit.service.fakes import PaymentWorld


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


async def test_a_confirmed_payment_confirms_the_reservation_and_sells_its_seats(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)

    answer = await confirm_payment(
        world.deps, reservation.member_id, key, reservation.order_id, reservation.amount, "req-1"
    )

    assert (answer.status, answer.reservation_status) == ("CONFIRMED", "CONFIRMED")
    assert world.status_of(reservation) is ReservationStatus.CONFIRMED
    assert world.tables.seat_statuses(reservation.hold_id) == ["SOLD", "SOLD"]
    assert world.gateway.ledger[key].status is PaymentStatus.DONE
    row = world.payment(key)
    assert (row.confirmed, row.settled, row.outcome) == (True, True, Outcome.CONFIRMED)
    assert world.tables.event_types() == ["reservation.confirmed", "payment.captured"]
    assert {row.correlation_id for row in world.tables.outbox} == {"req-1"}


async def test_a_wrong_amount_is_refused_before_the_provider_is_called(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)

    with pytest.raises(AmountMismatch) as refused:
        await confirm_payment(
            world.deps, reservation.member_id, key, reservation.order_id, reservation.amount - 1
        )

    assert refused.value.expected == reservation.amount
    assert world.gateway.calls == []
    assert world.tables.payments == {}


async def test_the_trust_client_amount_defect_sells_the_seats_for_what_the_client_says(
    world: PaymentWorld,
) -> None:
    world.policy = dataclasses.replace(world.policy, trust_client_amount=True)
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, 1)

    answer = await confirm_payment(world.deps, reservation.member_id, key, reservation.order_id, 1)

    assert answer.status == "CONFIRMED"
    assert world.payment(key).captured_amount == 1 < reservation.amount


async def test_another_members_order_is_not_found(world: PaymentWorld) -> None:
    reservation = world.reservation(member_id=7)
    key = world.gateway.checkout(reservation.order_id, reservation.amount)

    with pytest.raises(NotFound):
        await confirm_payment(world.deps, 8, key, reservation.order_id, reservation.amount)

    assert world.gateway.calls == []


async def test_an_expired_reservation_is_refused_before_any_provider_call(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation(minutes=1)
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    world.clock.advance(61)

    with pytest.raises(ReservationExpired):
        await confirm_payment(
            world.deps, reservation.member_id, key, reservation.order_id, reservation.amount
        )

    assert world.gateway.calls == []
    assert world.tables.payments == {}


async def test_a_declined_card_is_a_payment_declined_recorded_on_the_payment(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    world.gateway.declines.add(key)

    with pytest.raises(PaymentDeclined) as declined:
        await confirm_payment(
            world.deps, reservation.member_id, key, reservation.order_id, reservation.amount
        )

    assert declined.value.extra["toss_code"] == "REJECT_CARD_PAYMENT"
    row = world.payment(key)
    assert (row.outcome, row.settled, row.confirmed) == (Outcome.DECLINED, True, False)
    assert world.status_of(reservation) is ReservationStatus.AWAITING_PAYMENT


async def test_a_key_the_provider_does_not_tie_to_this_order_leaves_no_payment_row(
    world: PaymentWorld,
) -> None:
    """The row written before the call would bind the key to the wrong order for good."""
    mine, other = world.reservation(), world.reservation()
    key = world.gateway.checkout(other.order_id, other.amount)

    with pytest.raises(PaymentRejected):
        await confirm_payment(world.deps, mine.member_id, key, mine.order_id, mine.amount)

    assert key not in world.tables.payments


async def test_a_provider_that_cannot_be_reached_is_unavailable_and_nothing_is_captured(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    world.gateway.answer_next("confirm", Unreachable("cannot connect", maybe_processed=False))

    with pytest.raises(ProviderUnavailable) as unavailable:
        await confirm_payment(
            world.deps, reservation.member_id, key, reservation.order_id, reservation.amount
        )

    assert unavailable.value.provider == "payment"
    assert world.gateway.ledger[key].status is PaymentStatus.READY
    assert world.payment(key).settled is False  # the reconciler will still ask


async def test_a_lost_answer_is_asked_about_and_the_capture_applied(world: PaymentWorld) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    timeout = Unreachable("no answer within 5s", maybe_processed=True)
    world.gateway.answer_next("confirm", timeout, lose_answer=True)

    answer = await confirm_payment(
        world.deps, reservation.member_id, key, reservation.order_id, reservation.amount
    )

    assert answer.status == "CONFIRMED"
    assert world.gateway.calls == [("confirm", key), ("get", key)]


async def test_a_confirm_nobody_can_answer_for_is_pending_and_left_for_the_reconciler(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    world.gateway.answer_next("confirm", Unreachable("timeout", maybe_processed=True))
    world.gateway.answer_next("get", Unreachable("timeout", maybe_processed=True))

    answer = await confirm_payment(
        world.deps, reservation.member_id, key, reservation.order_id, reservation.amount
    )

    assert (answer.status, answer.reservation_status) == ("PENDING", "AWAITING_PAYMENT")
    assert (world.payment(key).settled, world.payment(key).outcome) == (False, None)
    assert world.metrics.counts["payment", "pending", "confirm"] == 1


async def test_a_repeated_confirm_of_a_confirmed_payment_asks_the_provider_nothing(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    args = (reservation.member_id, key, reservation.order_id, reservation.amount)
    await confirm_payment(world.deps, *args)
    calls = list(world.gateway.calls)

    again = await confirm_payment(world.deps, *args)

    assert again.status == "CONFIRMED"
    assert world.gateway.calls == calls


async def test_a_payment_key_bound_to_another_order_is_rejected(world: PaymentWorld) -> None:
    first, second = world.reservation(), world.reservation()
    key = world.gateway.checkout(first.order_id, first.amount)
    await confirm_payment(world.deps, first.member_id, key, first.order_id, first.amount)

    with pytest.raises(PaymentRejected):
        await confirm_payment(world.deps, second.member_id, key, second.order_id, second.amount)

    assert world.status_of(second) is ReservationStatus.AWAITING_PAYMENT


async def test_already_processed_means_ask_the_provider_and_apply_its_answer(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    world.gateway.capture(key)

    answer = await confirm_payment(
        world.deps, reservation.member_id, key, reservation.order_id, reservation.amount
    )

    assert answer.status == "CONFIRMED"
    assert world.status_of(reservation) is ReservationStatus.CONFIRMED


async def test_the_provider_refusing_our_key_is_its_error_not_the_clients(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    world.gateway.answer_next("confirm", Refused(401, "UNAUTHORIZED_KEY", "bad key"))

    with pytest.raises(ProviderMisbehaved):
        await confirm_payment(
            world.deps, reservation.member_id, key, reservation.order_id, reservation.amount
        )
