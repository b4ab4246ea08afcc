"""Browsing: concerts, zones with remaining seats, the seats of a zone (optionally a row).

Unknown concerts and zones are NotFound; a row filter that matches nothing is an empty
list, like any other filter.
"""

from __future__ import annotations

from service.adapters import catalog as store
from service.adapters.db import Database
from service.domain.catalog import Concert, Seat, Zone
from service.domain.errors import NotFound


async def list_concerts(db: Database) -> list[Concert]:
    return await store.concerts(db)


async def get_concert(db: Database, concert_id: int) -> Concert:
    concert = await store.concert(db, concert_id)
    if concert is None:
        raise NotFound("concert", concert_id)
    return concert


async def list_zones(db: Database, concert_id: int) -> list[Zone]:
    zones = await store.zones(db, concert_id)
    if not zones:
        await get_concert(db, concert_id)
    return zones


async def list_seats(db: Database, concert_id: int, zone_code: str, row: str | None) -> list[Seat]:
    zone = await store.find_zone(db, concert_id, zone_code)
    if zone is None:
        await get_concert(db, concert_id)
        raise NotFound("zone", zone_code)
    zone_id, canonical_code = zone
    return await store.seats(db, zone_id, canonical_code, row)
