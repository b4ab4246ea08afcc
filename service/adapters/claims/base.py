"""What every claim strategy shares: the limit check, seat validation and the hold rows.

Strategies differ only in how they keep two buyers of one seat apart, so each one calls
``begin_claim`` first in its transaction (member lock, ticket limit, seat lookup) and
``record_hold`` to write the hold; the seat update in between is theirs.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import MaxConnectionsError, RedisError

from service import metrics
from service.adapters import bookings
from service.adapters.bookings import SeatState
from service.adapters.db import Database
from service.config import Settings
from service.domain.errors import Contention, SeatsTaken
from service.domain.holds import Hold, check_ticket_limit
from service.ports import ClaimRequest, SeatClaimer


class BaseClaimer(SeatClaimer):
    name = "base"

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    async def begin_claim(self, cur: Any, request: ClaimRequest) -> list[SeatState]:
        """Member lock, concert, seats (a plain read), then the ticket limit.

        The member lock must open the transaction (see ``bookings.lock_member``). Unknown
        seats are checked before the limit, so a wrong id is a 404 whatever the member holds.
        """
        await bookings.lock_member(cur, request.member_id)
        limit = await bookings.concert_ticket_limit(cur, request.concert_id)
        seats = await bookings.load_seats(cur, request.concert_id, request.seat_ids)
        bookings.require_all(request.seat_ids, seats)
        already = await bookings.member_seat_count(
            cur, request.member_id, request.concert_id, request.now
        )
        check_ticket_limit(limit, already, len(request.seat_ids))
        return seats

    async def record_hold(self, cur: Any, request: ClaimRequest, seats: list[SeatState]) -> Hold:
        return await bookings.insert_hold(
            cur,
            concert_id=request.concert_id,
            member_id=request.member_id,
            seats=[s.ref for s in seats],
            strategy=self.name,
            now=request.now,
            expires_at=request.expires_at,
        )

    async def claim_guarded(self, cur: Any, request: ClaimRequest) -> Hold:
        """One guarded UPDATE, checked by rows affected; a shortfall names the seats lost."""
        seats = await self.begin_claim(cur, request)
        hold = await self.record_hold(cur, request, seats)
        claimed = await bookings.mark_seats_held(cur, hold.id, request.seat_ids)
        if claimed != len(request.seat_ids):
            taken = await bookings.seats_not_held_by(cur, hold.id, request.seat_ids)
            self.count_wait("lost-race")
            raise SeatsTaken(taken)
        await bookings.stamp_claimed(cur, hold.id)
        return hold

    def count_wait(self, kind: str) -> None:
        metrics.lock_waits.labels(strategy=self.name, kind=kind).inc()


def redis_contention(exc: RedisError) -> Contention:
    """A Redis failure or an exhausted client pool is overload, answered as a 503, not a 500."""
    if isinstance(exc, MaxConnectionsError):
        return Contention("redis-pool-exhausted")
    return Contention("redis-unavailable")


def taken_seats(seats: list[SeatState]) -> list[int]:
    return [s.ref.id for s in seats if s.status != "AVAILABLE"]
