"""Starting a payment: what a client needs to pay a reservation, and whether it may."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.domain.errors import NotFound
from service.domain.payments import ReservationExpired, ReservationNotPayable
from service.domain.reservations import Reservation, ReservationStatus
from service.usecases.payments.deps import PaymentDeps

CONFIRM_PATH = "/api/v1/payments/confirm"


async def start_payment(deps: PaymentDeps, member_id: int, reservation_id: int) -> dict[str, Any]:
    """Everything a client needs to pay: order id, the server's amount, where to check out."""
    async with deps.uow() as uow:
        reservation = await uow.reservations.get(reservation_id, member_id)
        if reservation is None:
            raise NotFound("reservation", reservation_id)
        seats = await uow.holds.seat_count(reservation.hold_id)
    ensure_payable(reservation, deps.clock.now())
    order_name = f"ticketlab reservation {reservation.id} ({seats} seat{'s' * (seats != 1)})"
    checkout_body = {
        "orderId": reservation.order_id,
        "orderName": order_name,
        "amount": reservation.amount,
    }
    return {
        "reservation_id": reservation.id,
        "order_id": reservation.order_id,
        "order_name": order_name,
        "amount": reservation.amount,
        "currency": "KRW",
        "expires_at": reservation.expires_at,
        "checkout": {
            "method": "POST",
            "url": deps.policy.checkout_url,
            "body": checkout_body,
            "returns": "paymentKey",
        },
        "confirm": {
            "method": "POST",
            "path": CONFIRM_PATH,
            "body": {
                "paymentKey": "<paymentKey from checkout>",
                "orderId": reservation.order_id,
                "amount": reservation.amount,
            },
        },
    }


def ensure_payable(reservation: Reservation, now: datetime) -> None:
    """Awaiting payment and not yet due, or a problem naming why not."""
    if reservation.status is ReservationStatus.AWAITING_PAYMENT and now < reservation.expires_at:
        return
    if reservation.status in (ReservationStatus.EXPIRED, ReservationStatus.AWAITING_PAYMENT):
        raise ReservationExpired(
            f"reservation {reservation.id} expired at {reservation.expires_at.isoformat()}",
            reservation_id=reservation.id,
        )
    raise ReservationNotPayable(
        f"reservation {reservation.id} is {reservation.status.value.lower()}",
        reservation_id=reservation.id,
        reservation_status=reservation.status.value,
    )
