"""Starting a payment, on fakes: the order, the server's amount, and who may pay."""

from __future__ import annotations

import pytest

from service.domain.errors import NotFound
from service.domain.payments import ReservationExpired, ReservationNotPayable
from service.domain.reservations import ReservationStatus
from service.usecases.payments.start import start_payment
from tests.unit.service.fakes import PaymentWorld


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


async def test_starting_a_payment_names_the_order_the_amount_and_where_to_check_out(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()

    started = await start_payment(world.deps, reservation.member_id, reservation.id)

    assert (started["order_id"], started["amount"]) == (reservation.order_id, reservation.amount)
    assert started["order_name"].endswith("(2 seats)")
    assert started["checkout"]["url"] == world.policy.checkout_url
    assert started["checkout"]["body"]["amount"] == reservation.amount


async def test_another_members_reservation_is_not_found(world: PaymentWorld) -> None:
    reservation = world.reservation(member_id=7)

    with pytest.raises(NotFound):
        await start_payment(world.deps, 8, reservation.id)


async def test_a_reservation_past_its_expiry_cannot_be_paid(world: PaymentWorld) -> None:
    reservation = world.reservation(minutes=1)
    world.clock.advance(60)

    with pytest.raises(ReservationExpired):
        await start_payment(world.deps, reservation.member_id, reservation.id)


async def test_a_paid_reservation_cannot_be_paid_again(world: PaymentWorld) -> None:
    reservation = world.reservation()
    world.tables.reservations[reservation.id].status = ReservationStatus.CONFIRMED

    with pytest.raises(ReservationNotPayable) as refused:
        await start_payment(world.deps, reservation.member_id, reservation.id)

    assert refused.value.extra["reservation_status"] == "CONFIRMED"
