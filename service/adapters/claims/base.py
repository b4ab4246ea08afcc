"""What every claim strategy shares: the limit check, seat validation and the hold rows.

Strategies differ only in how they keep two buyers of one seat apart, so each one calls
``begin_claim`` first in its transaction (member lock, then seats and ticket limit in one
read: one round trip), ``open_hold`` to write the holds row with its own seat update (one
round trip), and ``close_hold`` for the hold's seat rows and event, which ride with the
COMMIT. A hold costs three round trips under ``conditional``
(``tests/integration/service/test_statement_counts.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import MaxConnectionsError, RedisError

from service import metrics
from service.adapters import claim_sql
from service.adapters.claim_sql import SeatState
from service.adapters.db import Database
from service.adapters.round_trips import Statement
from service.adapters.zone_versions import note_changed
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
        """Member lock, then seats, ticket limit and the member's count in one read.

        The member lock must open the transaction (see ``claim_sql.lock_member``), and the
        read after it must be a statement of its own (``claim_sql.read_claim_context``
        sends both in one round trip). Unknown seats are checked before the limit, so a
        wrong id is a 404 whatever the member holds.
        """
        context = await claim_sql.read_claim_context(
            cur, request.member_id, request.concert_id, request.seat_ids, request.now
        )
        claim_sql.require_all(request.seat_ids, context.seats)
        check_ticket_limit(context.ticket_limit, context.already, len(request.seat_ids))
        return context.seats

    async def open_hold(
        self, cur: Any, request: ClaimRequest, seats: list[SeatState], claim: Sequence[Statement]
    ) -> tuple[Hold, list[int]]:
        """The holds row, then the strategy's seat updates ``claim`` (``claim_sql.claim_seats``:
        they point at the new hold), in one round trip; the rows each update changed.

        The seats are noted for the zone-version bump when any update changed a row."""
        hold, changed = await claim_sql.insert_hold_and(
            cur,
            concert_id=request.concert_id,
            member_id=request.member_id,
            seats=[s.ref for s in seats],
            strategy=self.name,
            now=request.now,
            expires_at=request.expires_at,
            then=claim,
        )
        note_changed(cur, request.seat_ids, sum(changed))
        return hold, changed

    async def close_hold(self, cur: Any, hold: Hold) -> Hold:
        """After the seats are the hold's: its seat rows, stamped as claimed now, and its event."""
        await claim_sql.insert_hold_seats(cur, hold, claimed=True)
        return hold

    async def claim_guarded(self, cur: Any, request: ClaimRequest) -> Hold:
        """One guarded UPDATE, checked by rows affected; a shortfall names the seats lost."""
        seats = await self.begin_claim(cur, request)
        hold, (claimed,) = await self.open_hold(
            cur, request, seats, [claim_sql.claim_seats(request.seat_ids, guarded=True)]
        )
        if claimed != len(request.seat_ids):
            taken = await claim_sql.seats_not_held_by(cur, hold.id, request.seat_ids)
            self.count_wait("lost-race")
            raise SeatsTaken(taken)
        return await self.close_hold(cur, hold)

    def count_wait(self, kind: str) -> None:
        metrics.lock_waits.labels(strategy=self.name, kind=kind).inc()


def redis_contention(exc: RedisError) -> Contention:
    """A Redis failure or an exhausted client pool is overload, answered as a 503, not a 500."""
    if isinstance(exc, MaxConnectionsError):
        return Contention("redis-pool-exhausted")
    return Contention("redis-unavailable")


def taken_seats(seats: list[SeatState]) -> list[int]:
    return [s.ref.id for s in seats if s.status != "AVAILABLE"]
