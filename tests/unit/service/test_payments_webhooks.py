"""The provider's webhooks, on fakes: applied once, from the provider's word, not the body's."""

from __future__ import annotations

import dataclasses

import pytest

from service.domain.errors import ProviderUnavailable
from service.domain.payments import PaymentStatus, ProviderPayment
from service.domain.reservations import Reservation, ReservationStatus
from service.ports import Unreachable
from service.usecases.payments.webhooks import WebhookEvent, receive_webhook
from tests.unit.service.fakes import PaymentWorld


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


def event(key: str, order_id: str, status: PaymentStatus, event_id: str = "evt_1") -> WebhookEvent:
    body = ProviderPayment(key, order_id, status, 100_000, 100_000)
    return WebhookEvent(event_id, "PAYMENT_STATUS_CHANGED", key, order_id, body)


def checked_out(world: PaymentWorld, reservation: Reservation) -> str:
    return world.gateway.checkout(reservation.order_id, reservation.amount)


async def test_a_webhook_settles_the_payment_as_the_provider_says_not_as_its_body_says(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = checked_out(world, reservation)  # READY at the provider
    forged = event(key, reservation.order_id, PaymentStatus.DONE)

    applied = await receive_webhook(world.deps, forged, None)

    assert not applied.duplicate
    assert world.status_of(reservation) is ReservationStatus.AWAITING_PAYMENT
    assert world.tables.events["evt_1"].applied_status == "READY"


async def test_a_captured_payment_reported_by_webhook_confirms_the_reservation(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = checked_out(world, reservation)
    world.gateway.capture(key)

    await receive_webhook(world.deps, event(key, reservation.order_id, PaymentStatus.DONE), None)

    assert world.status_of(reservation) is ReservationStatus.CONFIRMED
    assert world.payment(key).last_source == "webhook"


async def test_a_redelivered_event_is_applied_once_and_counted(world: PaymentWorld) -> None:
    reservation = world.reservation()
    key = checked_out(world, reservation)
    world.gateway.capture(key)
    delivery = event(key, reservation.order_id, PaymentStatus.DONE)
    await receive_webhook(world.deps, delivery, None)

    again = await receive_webhook(world.deps, delivery, None)

    assert again.duplicate
    row = world.tables.events["evt_1"]
    assert (row.deliveries, row.times_applied) == (2, 1)
    assert world.metrics.counts["webhook_duplicate", "false"] == 1


async def test_the_no_dedupe_defect_applies_a_redelivery_again(world: PaymentWorld) -> None:
    world.policy = dataclasses.replace(world.policy, webhook_no_dedupe=True)
    reservation = world.reservation()
    key = checked_out(world, reservation)
    world.gateway.capture(key)
    delivery = event(key, reservation.order_id, PaymentStatus.DONE)
    await receive_webhook(world.deps, delivery, None)

    again = await receive_webhook(world.deps, delivery, None)

    assert not again.duplicate
    assert world.tables.events["evt_1"].times_applied == 2
    assert world.metrics.counts["webhook_duplicate", "true"] == 1


async def test_an_event_for_a_payment_the_provider_does_not_know_is_applied_as_such(
    world: PaymentWorld,
) -> None:
    applied = await receive_webhook(
        world.deps, event("pk_ghost", "ord_ghost", PaymentStatus.DONE), None
    )

    assert applied.settlement is None and not applied.duplicate
    row = world.tables.events["evt_1"]
    assert (row.times_applied, row.applied_status) == (1, "unknown-payment")


async def test_a_provider_that_cannot_be_asked_leaves_the_event_for_a_redelivery(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    key = checked_out(world, reservation)
    world.gateway.answer_next("get", Unreachable("timeout", maybe_processed=True))

    with pytest.raises(ProviderUnavailable):
        await receive_webhook(
            world.deps, event(key, reservation.order_id, PaymentStatus.DONE), None
        )

    row = world.tables.events["evt_1"]
    assert (row.deliveries, row.times_applied) == (1, 0)


async def test_an_event_for_an_order_the_service_does_not_know_is_applied_as_such(
    world: PaymentWorld,
) -> None:
    key = world.gateway.checkout("ord_elsewhere", 5_000)
    world.gateway.capture(key)

    await receive_webhook(world.deps, event(key, "ord_elsewhere", PaymentStatus.DONE), None)

    assert world.tables.events["evt_1"].applied_status == "unknown-order"
    assert world.tables.payments == {}
