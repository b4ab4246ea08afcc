"""The availability read model, one per worker: seat maps and zone counts from memory.

Each worker keeps, per zone, the static layout (read once) and the latest snapshot of its
statuses with the version it was read at; per concert, the zones' versions as last read,
and when. A request is answered from memory while that version check is younger than
``max_age_s``; past it, one request re-reads the versions (one indexed query for every
zone of the concert: a few dozen rows, never the 43,000 seats) while the others wait for
it, and only a zone whose version moved is read again: layout order, one character per
seat, in the same snapshot as its version. Every answer says how old it may be
(``Freshness``): the time since the database last showed that version was current.

Correctness rests on ``zone_versions``: every committed change to a seat moves its zone's
version in the same transaction, so a snapshot at version *v* is exactly the statuses of
every commit up to *v*, and a cached snapshot whose version is still the zone's version
is still the truth. ``DatabaseAvailability`` is the same answer read from the database on
every request, for ``TICKETLAB_READ_MODEL=off``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from service.adapters import zone_versions
from service.adapters.catalog import SqlCatalog
from service.adapters.db import Database
from service.domain.availability import (
    ConcertsRead,
    SeatMapRead,
    ZoneInfo,
    ZoneLayout,
    ZoneSnapshot,
    ZonesRead,
)
from service.domain.catalog import Concert, Zone
from service.domain.reads import Freshness, ReadSource
from service.read_ports import Availability

CACHE = ReadSource.CACHE
PRIMARY = ReadSource.PRIMARY


@dataclass(frozen=True)
class VersionCheck:
    """A concert's zone versions as the database showed them at ``at`` (monotonic)."""

    versions: dict[int, int]
    at: float


@dataclass(frozen=True)
class ZoneCount:
    """What was left in a zone at ``version``, known current at ``at`` (monotonic)."""

    version: int
    remaining: int
    at: float


async def load_zone_infos(cur: Any, concert_id: int) -> tuple[ZoneInfo, ...]:
    await cur.execute(
        "SELECT id, concert_id, code, grade, price, row_count, seats_per_row FROM zones"
        " WHERE concert_id = %s ORDER BY code",
        (concert_id,),
    )
    return tuple(
        ZoneInfo(
            id=int(r["id"]),
            concert_id=int(r["concert_id"]),
            code=r["code"],
            grade=r["grade"],
            price=int(r["price"]),
            rows=int(r["row_count"]),
            seats_per_row=int(r["seats_per_row"]),
        )
        for r in await cur.fetchall()
    )


async def load_layout(cur: Any, zone: ZoneInfo) -> ZoneLayout:
    """The zone's seats in seat-map order; the statuses are read in the same order."""
    await cur.execute(
        "SELECT id, row_label, number, price FROM seats WHERE zone_id = %s"
        " ORDER BY row_label, number, id",
        (zone.id,),
    )
    rows = await cur.fetchall()
    return ZoneLayout(
        zone=zone,
        seat_ids=tuple(int(r["id"]) for r in rows),
        rows=tuple(r["row_label"] for r in rows),
        numbers=tuple(int(r["number"]) for r in rows),
        prices=tuple(int(r["price"]) for r in rows),
    )


async def load_statuses(cur: Any, zone: ZoneInfo) -> str:
    """One status character per seat, in layout order: one short row, not 2,000."""
    await cur.execute(
        "SELECT GROUP_CONCAT(CASE status WHEN 'AVAILABLE' THEN 'A' WHEN 'HELD' THEN 'H'"
        " WHEN 'RESERVED' THEN 'R' ELSE 'S' END ORDER BY row_label, number, id SEPARATOR '')"
        " AS statuses FROM seats WHERE zone_id = %s",
        (zone.id,),
    )
    row = await cur.fetchone()
    statuses = row["statuses"] if row else None
    if isinstance(statuses, bytes):
        statuses = statuses.decode("ascii")
    return statuses or ""


async def load_remaining(cur: Any, concert_id: int, zone_ids: list[int]) -> dict[int, int]:
    """AVAILABLE seats of some zones, from the (concert_id, status, zone_id) index alone."""
    await cur.execute(
        "SELECT zone_id, COUNT(*) AS n FROM seats WHERE concert_id = %s AND status = 'AVAILABLE'"
        f" AND zone_id IN ({', '.join(['%s'] * len(zone_ids))}) GROUP BY zone_id",
        (concert_id, *zone_ids),
    )
    found = {int(r["zone_id"]): int(r["n"]) for r in await cur.fetchall()}
    return {zone_id: found.get(zone_id, 0) for zone_id in zone_ids}


def concerts_read(concerts: list[Concert], freshness: Freshness) -> ConcertsRead:
    """Named by a digest of what they say: concerts have no version, and change rarely."""
    digest = hashlib.blake2b(repr(concerts).encode(), digest_size=8).hexdigest()
    return ConcertsRead(concerts, freshness, etag_base=f"c{digest}")


def as_zone(info: ZoneInfo, remaining: int) -> Zone:
    return Zone(
        code=info.code,
        grade=info.grade,
        price=info.price,
        rows=info.rows,
        seats_per_row=info.seats_per_row,
        capacity=info.capacity,
        remaining=remaining,
    )


class CachedAvailability(Availability):
    """The per-worker read model (see the module's docstring)."""

    def __init__(
        self,
        db: Database,
        max_age_s: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.max_age_s = max_age_s
        self.now = monotonic
        self._zone_infos: dict[int, tuple[ZoneInfo, ...]] = {}
        self._zone_by_code: dict[int, dict[str, ZoneInfo]] = {}
        self._layouts: dict[int, ZoneLayout] = {}
        self._checks: dict[int, VersionCheck] = {}
        self._snapshots: dict[int, ZoneSnapshot] = {}
        self._counts: dict[int, ZoneCount] = {}
        self._zones_reads: dict[int, ZonesRead] = {}
        self._concerts: tuple[ConcertsRead, float] | None = None
        self._locks: dict[Hashable, asyncio.Lock] = {}

    def _lock(self, key: Hashable) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def _age_ms(self, known_at: float) -> int:
        return max(0, round((self.now() - known_at) * 1000))

    async def concerts(self) -> ConcertsRead:
        """The concert list, read again once older than ``max_age_s`` (by one request)."""
        if self._concerts is None or self.now() - self._concerts[1] > self.max_age_s:
            async with self._lock("concerts"):
                if self._concerts is None or self.now() - self._concerts[1] > self.max_age_s:
                    started = self.now()
                    concerts = await SqlCatalog(self.db).concerts()
                    read = concerts_read(concerts, Freshness(CACHE, None, 0))
                    if self._concerts is not None and read.etag_base == self._concerts[0].etag_base:
                        read = self._concerts[0]
                    self._concerts = (read, started)
        read, at = self._concerts
        return ConcertsRead(
            read.concerts, Freshness(CACHE, None, self._age_ms(at)), read.etag_base, read.encoded
        )

    async def concert_zones(self, concert_id: int) -> tuple[ZoneInfo, ...]:
        """The concert's zones (static once seeded); an unknown concert is not remembered."""
        infos = self._zone_infos.get(concert_id)
        if infos is None:
            async with self.db.transaction() as cur:
                infos = await load_zone_infos(cur, concert_id)
            if infos:
                self._zone_infos[concert_id] = infos
                self._zone_by_code[concert_id] = {z.code.casefold(): z for z in infos}
        return infos

    async def check_versions(self, concert_id: int) -> VersionCheck:
        """The concert's zone versions, read again only when the last read is too old."""
        check = self._checks.get(concert_id)
        if check is not None and self.now() - check.at <= self.max_age_s:
            return check
        async with self._lock(("versions", concert_id)):
            check = self._checks.get(concert_id)
            if check is not None and self.now() - check.at <= self.max_age_s:
                return check
            started = self.now()
            async with self.db.transaction() as cur:
                versions = await zone_versions.concert_versions(cur, concert_id)
            return self._remember_check(concert_id, VersionCheck(versions, started))

    def _remember_check(self, concert_id: int, check: VersionCheck) -> VersionCheck:
        current = self._checks.get(concert_id)
        if current is None or current.at <= check.at:
            self._checks[concert_id] = check
        return check

    async def snapshot(self, zone: ZoneInfo, at_least: int) -> ZoneSnapshot:
        """The zone's statuses at ``at_least`` or later, read (by one request) if need be."""
        snap = self._snapshots.get(zone.id)
        if snap is not None and snap.version >= at_least:
            return snap
        async with self._lock(("zone", zone.id)):
            snap = self._snapshots.get(zone.id)
            if snap is not None and snap.version >= at_least:
                return snap
            layout = self._layouts.get(zone.id)
            started = self.now()
            async with self.db.transaction() as cur:
                if layout is None:
                    layout = self._layouts[zone.id] = await load_layout(cur, zone)
                version = await zone_versions.zone_version(cur, zone.concert_id, zone.id)
                statuses = await load_statuses(cur, zone)
            snap = ZoneSnapshot(layout, version, statuses, read_at=started)
            self._snapshots[zone.id] = snap
            self._remember_count(zone.id, ZoneCount(version, snap.remaining, started))
            return snap

    def _remember_count(self, zone_id: int, count: ZoneCount) -> None:
        current = self._counts.get(zone_id)
        if current is None or (current.version, current.at) <= (count.version, count.at):
            self._counts[zone_id] = count

    async def seat_map(self, concert_id: int, zone_code: str) -> SeatMapRead | None:
        if concert_id not in self._zone_by_code:
            await self.concert_zones(concert_id)
        zone = self._zone_by_code.get(concert_id, {}).get(zone_code.casefold())
        if zone is None:
            return None
        check = await self.check_versions(concert_id)
        checked = check.versions.get(zone.id, 0)
        snap = await self.snapshot(zone, checked)
        known_at = snap.read_at if snap.version > checked else max(check.at, snap.read_at)
        return SeatMapRead(
            snapshot=snap,
            freshness=Freshness(CACHE, snap.version, self._age_ms(known_at)),
            etag_base=f"sm{zone.id}v{snap.version}",
        )

    async def zones(self, concert_id: int) -> ZonesRead | None:
        infos = await self.concert_zones(concert_id)
        if not infos:
            return None
        check = await self.check_versions(concert_id)
        if self._stale_counts(infos, check):
            await self._refresh_counts(concert_id, infos, check)
        counts = [self._counts[z.id] for z in infos]
        key = tuple(c.version for c in counts)
        cached = self._zones_reads.get(concert_id)
        known_at = min(
            c.at if c.version > check.versions.get(z.id, 0) else max(c.at, check.at)
            for z, c in zip(infos, counts, strict=True)
        )
        freshness = Freshness(CACHE, sum(key), self._age_ms(known_at))
        if cached is not None and cached.etag_base == self._zones_etag(concert_id, key):
            return ZonesRead(cached.zones, freshness, cached.etag_base, cached.encoded)
        read = ZonesRead(
            zones=[as_zone(z, c.remaining) for z, c in zip(infos, counts, strict=True)],
            freshness=freshness,
            etag_base=self._zones_etag(concert_id, key),
        )
        self._zones_reads[concert_id] = read
        return read

    @staticmethod
    def _zones_etag(concert_id: int, versions: tuple[int, ...]) -> str:
        """Names the combination of zone versions (a sum could repeat across mixes)."""
        return f"zs{concert_id}v" + ".".join(map(str, versions))

    def _stale_counts(self, infos: tuple[ZoneInfo, ...], check: VersionCheck) -> list[ZoneInfo]:
        return [
            z
            for z in infos
            if (count := self._counts.get(z.id)) is None
            or count.version < check.versions.get(z.id, 0)
        ]

    async def _refresh_counts(
        self, concert_id: int, infos: tuple[ZoneInfo, ...], check: VersionCheck
    ) -> None:
        """Counts the stale zones again, with the versions, in one snapshot."""
        async with self._lock(("counts", concert_id)):
            stale = self._stale_counts(infos, check)
            if not stale:
                return
            started = self.now()
            async with self.db.transaction() as cur:
                versions = await zone_versions.concert_versions(cur, concert_id)
                remaining = await load_remaining(cur, concert_id, [z.id for z in stale])
            self._remember_check(concert_id, VersionCheck(versions, started))
            for zone in stale:
                count = ZoneCount(versions.get(zone.id, 0), remaining[zone.id], started)
                self._remember_count(zone.id, count)


class DatabaseAvailability(Availability):
    """The same answers read from the database on every request (``READ_MODEL=off``)."""

    def __init__(self, db: Database, source: str = PRIMARY) -> None:
        self.db = db
        self.source = source

    async def concerts(self) -> ConcertsRead:
        return concerts_read(await SqlCatalog(self.db).concerts(), Freshness(self.source, None, 0))

    async def seat_map(self, concert_id: int, zone_code: str) -> SeatMapRead | None:
        async with self.db.transaction() as cur:
            wanted = zone_code.casefold()
            zone = next(
                (z for z in await load_zone_infos(cur, concert_id) if z.code.casefold() == wanted),
                None,
            )
            if zone is None:
                return None
            layout = await load_layout(cur, zone)
            version = await zone_versions.zone_version(cur, concert_id, zone.id)
            statuses = await load_statuses(cur, zone)
        snap = ZoneSnapshot(layout, version, statuses, read_at=time.monotonic())
        return SeatMapRead(
            snap, Freshness(self.source, version, 0), etag_base=f"sm{zone.id}v{version}"
        )

    async def zones(self, concert_id: int) -> ZonesRead | None:
        async with self.db.transaction() as cur:
            infos = await load_zone_infos(cur, concert_id)
            if not infos:
                return None
            versions = await zone_versions.concert_versions(cur, concert_id)
            remaining = await load_remaining(cur, concert_id, [z.id for z in infos])
        key = tuple(versions.get(z.id, 0) for z in infos)
        return ZonesRead(
            zones=[as_zone(z, remaining[z.id]) for z in infos],
            freshness=Freshness(self.source, sum(key), 0),
            etag_base=CachedAvailability._zones_etag(concert_id, key),
        )
