"""Reservation rules without I/O: order ids and when a reservation may expire."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from service.domain.errors import InvalidState
from service.domain.reservations import Reservation, ReservationStatus, new_order_id

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def reservation(status: ReservationStatus) -> Reservation:
    return Reservation(1, 1, 1, 1, new_order_id(), 50_000, status, NOW, NOW + timedelta(minutes=1))


def test_an_order_id_fits_the_psp_format_and_is_unique() -> None:
    ids = {new_order_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"ord_[0-9a-f]{32}", i) for i in ids)  # fits [A-Za-z0-9_-]{6,64}


def test_an_unpaid_reservation_expires_at_its_expiry() -> None:
    r = reservation(ReservationStatus.AWAITING_PAYMENT)
    r.ensure_expirable(r.expires_at)


def test_an_unpaid_reservation_does_not_expire_early() -> None:
    r = reservation(ReservationStatus.AWAITING_PAYMENT)
    with pytest.raises(InvalidState):
        r.ensure_expirable(r.expires_at - timedelta(microseconds=1))


@pytest.mark.parametrize(
    "status",
    [ReservationStatus.CONFIRMED, ReservationStatus.EXPIRED, ReservationStatus.CANCELED],
)
def test_a_settled_reservation_never_expires(status: ReservationStatus) -> None:
    r = reservation(status)
    with pytest.raises(InvalidState, match=f"^reservation 1 is {status.value.lower()}$"):
        r.ensure_expirable(r.expires_at + timedelta(days=1))
