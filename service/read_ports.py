"""Read-side ports: the catalogue, seat availability, and what routing reads to the replica
needs (the replica's lag, each member's latest write).

Kept apart from ``service/ports.py``, whose unit of work and gateways are the write side;
like it, nothing here imports an I/O library. Adapters implement these
(``service/adapters``), unit tests subclass them with fakes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from service.domain.availability import ConcertsRead, SeatMapRead, ZonesRead
from service.domain.catalog import Concert, Seat, Zone
from service.ports import UnitsOfWork

# -- the catalogue, read only -----------------------------------------------------------------


class Catalog(ABC):
    """Concerts, zones with what is left, the seats of a zone; reads in short transactions."""

    @abstractmethod
    async def concerts(self) -> list[Concert]: ...

    @abstractmethod
    async def concert(self, concert_id: int) -> Concert | None: ...

    @abstractmethod
    async def zones(self, concert_id: int) -> list[Zone]: ...

    @abstractmethod
    async def find_zone(self, concert_id: int, zone_code: str) -> tuple[int, str] | None:
        """The zone's id and its code as stored: the lookup ignores case, answers must not."""

    @abstractmethod
    async def seats(self, zone_id: int, zone_code: str, row: str | None) -> list[Seat]: ...


class Availability(ABC):
    """Seat maps and zones' remaining counts, each with where it came from and its age.

    ``None`` means the concert (or the zone) is unknown, and the use case says which.
    """

    @abstractmethod
    async def seat_map(self, concert_id: int, zone_code: str) -> SeatMapRead | None: ...

    @abstractmethod
    async def zones(self, concert_id: int) -> ZonesRead | None: ...

    @abstractmethod
    async def concerts(self) -> ConcertsRead: ...


# -- reads: the replica and the read policy ---------------------------------------------------


@dataclass(frozen=True)
class ReadStores:
    """What the routed reads read, on one server (the primary, or the replica)."""

    catalog: Catalog
    uow: UnitsOfWork
    availability: Availability  # seat maps, zones and concerts read from this server


class ReplicaLag(ABC):
    """How far behind the replica is, and waiting for it to catch up with a write."""

    @abstractmethod
    def lag_ms(self) -> int | None:
        """The heartbeat lag now: now minus the newest heartbeat stamp the replica has shown;
        None while unknown (no stamp seen yet, the replica unreachable)."""

    @abstractmethod
    async def reached(self, position: str, timeout_s: float) -> bool:
        """Whether the replica has applied GTID ``position`` within ``timeout_s`` (False on
        a timeout or when the replica cannot be asked)."""


class WriteMarks(ABC):
    """Each member's latest write, as the primary's GTID position after it; shared by every
    worker, since a member's next read may land on any of them."""

    @abstractmethod
    async def mark(self, member_id: int) -> None: ...

    @abstractmethod
    async def last(self, member_id: int) -> str | None:
        """The position, None when the member wrote nothing lately, or
        ``domain.reads.WRITE_UNKNOWN`` when it cannot be known (the store is away)."""
