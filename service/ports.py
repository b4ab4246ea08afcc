"""Ports: what the use cases need from the outside world, as small abstract classes.

Adapters implement them (``service/adapters``); tests of pure logic may subclass them with
fakes that keep real state. Nothing here imports an I/O library.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime

from service.domain.holds import FreedSeats, Hold


@dataclass(frozen=True)
class ClaimRequest:
    concert_id: int
    member_id: int
    seat_ids: tuple[int, ...]  # sorted and unique (normalize_seat_request)
    now: datetime
    expires_at: datetime


class SeatClaimer(ABC):
    """Turns a request into a committed ACTIVE hold, or raises SeatsTaken / Contention.

    One adapter per claim strategy; each decides how two buyers of one seat are kept apart
    (or, for ``naive``, fails to).
    """

    name: str

    @abstractmethod
    async def claim(self, request: ClaimRequest) -> Hold: ...

    async def released(self, freed: FreedSeats) -> None:  # noqa: B027 (optional hook)
        """After a release commits: undo whatever the strategy keeps about these seats
        outside the database (redis-gate's keys). Nothing, for the others."""


class HoldExpiryScheduler(ABC):
    """Arranges for a hold to be released when it expires, if it is still unpaid."""

    @abstractmethod
    async def schedule(self, hold_id: int, expires_at: datetime) -> None: ...


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime: ...
