"""Reservations: a converted hold awaiting payment, with the amount the server computed.

A reservation inherits its hold's ``expires_at``. Unpaid at that moment, it expires and its
seats go back on sale; paid, its seats are sold. Payment states arrive later (payments
issue); the transitions here are the ones this service already needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from service.domain.errors import InvalidState


class ReservationStatus(StrEnum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    CONFIRMED = "CONFIRMED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"


TERMINAL = frozenset(
    {ReservationStatus.CONFIRMED, ReservationStatus.EXPIRED, ReservationStatus.CANCELED}
)


@dataclass
class Reservation:
    id: int
    hold_id: int
    member_id: int
    concert_id: int
    order_id: str
    amount: int
    status: ReservationStatus
    created_at: datetime
    expires_at: datetime
    confirmed_at: datetime | None = None
    released_at: datetime | None = None

    def ensure_expirable(self, now: datetime) -> None:
        if self.status is not ReservationStatus.AWAITING_PAYMENT:
            raise InvalidState(f"reservation {self.id} is {self.status.value.lower()}")
        if now < self.expires_at:
            raise InvalidState(f"reservation {self.id} expires at {self.expires_at.isoformat()}")


def new_order_id() -> str:
    """Toss requires 6–64 chars of [A-Za-z0-9_-]; a UUID hex is unguessable and fits."""
    return "ord_" + uuid.uuid4().hex
