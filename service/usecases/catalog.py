"""Browsing: concerts, zones with remaining seats, the seats of a zone (optionally a row).

Unknown concerts and zones are NotFound; a row filter that matches nothing is an empty
list, like any other filter.
"""

from __future__ import annotations

from service.domain.availability import ConcertsRead, SeatMapRead, ZonesRead
from service.domain.catalog import Concert, Seat, Zone
from service.domain.errors import NotFound
from service.read_ports import Availability, Catalog


async def list_concerts(catalog: Catalog) -> list[Concert]:
    return await catalog.concerts()


async def get_concert(catalog: Catalog, concert_id: int) -> Concert:
    concert = await catalog.concert(concert_id)
    if concert is None:
        raise NotFound("concert", concert_id)
    return concert


async def list_zones(catalog: Catalog, concert_id: int) -> list[Zone]:
    zones = await catalog.zones(concert_id)
    if not zones:
        await get_concert(catalog, concert_id)
    return zones


async def list_seats(
    catalog: Catalog, concert_id: int, zone_code: str, row: str | None
) -> list[Seat]:
    zone = await catalog.find_zone(concert_id, zone_code)
    if zone is None:
        await get_concert(catalog, concert_id)
        raise NotFound("zone", zone_code)
    zone_id, canonical_code = zone
    return await catalog.seats(zone_id, canonical_code, row)


async def read_zones(availability: Availability, catalog: Catalog, concert_id: int) -> ZonesRead:
    """The concert's zones with what is left, from the read model, and how fresh."""
    read = await availability.zones(concert_id)
    if read is None:
        raise NotFound("concert", concert_id)
    return read


async def read_seat_map(
    availability: Availability, catalog: Catalog, concert_id: int, zone_code: str
) -> SeatMapRead:
    """A zone's seat map from the read model; an unknown concert before an unknown zone."""
    read = await availability.seat_map(concert_id, zone_code)
    if read is None:
        await get_concert(catalog, concert_id)
        raise NotFound("zone", zone_code)
    return read


async def read_concerts(availability: Availability) -> ConcertsRead:
    return await availability.concerts()
