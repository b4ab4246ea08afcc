"""Holds: a member's temporary claim on seats, and the rules for granting one.

A hold is ACTIVE until it expires, is released by the member, or converts into a
reservation. Who released it is recorded, so the lab can tell a hold freed by the expiry
consumer from one the sweeper had to catch, or from one a late payment had to expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from service.domain.errors import InvalidRequest, InvalidState, TicketLimitExceeded


class HoldStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CONVERTED = "CONVERTED"
    RELEASED = "RELEASED"


class ReleasedBy(StrEnum):
    CONSUMER = "consumer"
    SWEEPER = "sweeper"
    MEMBER = "member"
    CONVERSION = "conversion"
    PAYMENT = "payment"  # a capture settled past due expired the reservation itself


@dataclass(frozen=True)
class SeatRef:
    """A seat as a hold sees it: where it is and what it costs."""

    id: int
    zone_code: str
    row: str
    number: int
    price: int


@dataclass
class Hold:
    id: int
    concert_id: int
    member_id: int
    status: HoldStatus
    amount: int
    created_at: datetime
    expires_at: datetime
    seats: list[SeatRef] = field(default_factory=list)
    strategy: str = ""
    released_at: datetime | None = None
    released_by: ReleasedBy | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def ensure_convertible(self, now: datetime) -> None:
        if self.status is not HoldStatus.ACTIVE:
            raise InvalidState(f"hold {self.id} is {self.status.value.lower()}, not active")
        if self.is_expired(now):
            raise InvalidState(f"hold {self.id} expired at {self.expires_at.isoformat()}")

    def ensure_releasable(self) -> None:
        if self.status is not HoldStatus.ACTIVE:
            raise InvalidState(f"hold {self.id} is {self.status.value.lower()}, not active")


@dataclass(frozen=True)
class FreedSeats:
    """The seats a release gave back, with the concert they belong to."""

    hold_id: int
    concert_id: int
    seat_ids: tuple[int, ...]


def normalize_seat_request(seat_ids: Sequence[int], max_seats: int) -> list[int]:
    """Sorted, de-duplicated ids; sorting gives every strategy one lock order (no deadlocks)."""
    if not seat_ids:
        raise InvalidRequest("seat_ids must not be empty", {"seat_ids": "must not be empty"})
    if len(seat_ids) > max_seats:
        raise InvalidRequest(
            f"at most {max_seats} seats per hold, got {len(seat_ids)}",
            {"seat_ids": f"at most {max_seats} items"},
        )
    if len(set(seat_ids)) != len(seat_ids):
        raise InvalidRequest("seat_ids contains duplicates", {"seat_ids": "must be unique"})
    if any(s <= 0 for s in seat_ids):
        raise InvalidRequest("seat ids are positive integers", {"seat_ids": "must be positive"})
    return sorted(seat_ids)


def check_ticket_limit(limit: int, already_held: int, requested: int) -> None:
    if already_held + requested > limit:
        raise TicketLimitExceeded(limit, already_held, requested)


def hold_amount(seats: Sequence[SeatRef]) -> int:
    return sum(seat.price for seat in seats)


def hold_expiry(now: datetime, ttl_s: float) -> datetime:
    return now + timedelta(seconds=ttl_s)
