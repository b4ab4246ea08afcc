"""Browsing the seat map on the real database."""

from __future__ import annotations

import pytest

from service.adapters.catalog import SqlCatalog
from service.adapters.db import Database
from service.domain.errors import NotFound
from service.usecases import catalog


async def test_concerts_are_listed_with_their_ticket_limit(db: Database, concert_id: int) -> None:
    concerts = await catalog.list_concerts(SqlCatalog(db))
    assert [c.id for c in concerts] == [concert_id]
    assert concerts[0].ticket_limit == 3
    assert concerts[0].starts_at.tzinfo is not None


async def test_an_unknown_concert_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        await catalog.get_concert(SqlCatalog(db), 10**9)


async def test_zones_show_capacity_price_and_remaining_seats(db: Database, concert_id: int) -> None:
    zones = await catalog.list_zones(SqlCatalog(db), concert_id)
    assert [(z.code, z.grade, z.capacity, z.remaining) for z in zones] == [
        ("A", "VIP", 20, 20),
        ("B", "VIP", 20, 20),
    ]
    concert = await catalog.get_concert(SqlCatalog(db), concert_id)
    assert zones[0].price == 3 * concert.base_price


async def test_zones_of_an_unknown_concert_are_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        await catalog.list_zones(SqlCatalog(db), 10**9)


async def test_a_zone_lists_its_seats_in_row_and_number_order(
    db: Database, concert_id: int
) -> None:
    seats = await catalog.list_seats(SqlCatalog(db), concert_id, "B", None)
    assert [(s.row, s.number) for s in seats[:3]] == [("a", 1), ("a", 2), ("a", 3)]
    assert len(seats) == 20
    assert {s.zone_code for s in seats} == {"B"}
    assert {s.status for s in seats} == {"AVAILABLE"}


async def test_a_row_filter_narrows_the_seats_to_that_row(db: Database, concert_id: int) -> None:
    seats = await catalog.list_seats(SqlCatalog(db), concert_id, "A", "b")
    assert [s.number for s in seats] == list(range(1, 11))
    assert {s.row for s in seats} == {"b"}


async def test_an_unknown_zone_is_not_found(db: Database, concert_id: int) -> None:
    with pytest.raises(NotFound) as missing:
        await catalog.list_seats(SqlCatalog(db), concert_id, "Q", None)
    assert missing.value.kind == "zone"


async def test_seats_of_an_unknown_concert_are_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as missing:
        await catalog.list_seats(SqlCatalog(db), 10**9, "A", None)
    assert missing.value.kind == "concert"
