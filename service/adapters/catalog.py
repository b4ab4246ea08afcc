"""The seat map's SQL: concerts, zones with what is left, seats of a zone.

Reads only, in short transactions. Remaining counts come from the seats themselves (the
``(concert_id, status)`` index), never from a counter a claim strategy could forget.
"""

from __future__ import annotations

from typing import Any

from service.adapters.db import Database, from_db
from service.domain.catalog import Concert, Seat, Zone
from service.read_ports import Catalog

_CONCERT_COLUMNS = "id, title, venue, starts_at, base_price, ticket_limit"


def _concert(row: dict[str, Any]) -> Concert:
    starts_at = from_db(row["starts_at"])
    assert starts_at is not None
    return Concert(
        id=row["id"],
        title=row["title"],
        venue=row["venue"],
        starts_at=starts_at,
        base_price=row["base_price"],
        ticket_limit=row["ticket_limit"],
    )


class SqlCatalog(Catalog):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def concerts(self) -> list[Concert]:
        rows = await self.db.fetch_all(
            f"SELECT {_CONCERT_COLUMNS} FROM concerts ORDER BY starts_at, id"
        )
        return [_concert(r) for r in rows]

    async def concert(self, concert_id: int) -> Concert | None:
        row = await self.db.fetch_one(
            f"SELECT {_CONCERT_COLUMNS} FROM concerts WHERE id = %s", (concert_id,)
        )
        return None if row is None else _concert(row)

    async def zones(self, concert_id: int) -> list[Zone]:
        async with self.db.transaction() as cur:
            await cur.execute(
                "SELECT id, code, grade, price, row_count, seats_per_row FROM zones"
                " WHERE concert_id = %s ORDER BY code",
                (concert_id,),
            )
            zone_rows = await cur.fetchall()
            await cur.execute(
                "SELECT zone_id, COUNT(*) AS n FROM seats WHERE concert_id = %s"
                " AND status = 'AVAILABLE' GROUP BY zone_id",
                (concert_id,),
            )
            remaining = {r["zone_id"]: int(r["n"]) for r in await cur.fetchall()}
        return [
            Zone(
                code=z["code"],
                grade=z["grade"],
                price=z["price"],
                rows=z["row_count"],
                seats_per_row=z["seats_per_row"],
                capacity=z["row_count"] * z["seats_per_row"],
                remaining=remaining.get(z["id"], 0),
            )
            for z in zone_rows
        ]

    async def find_zone(self, concert_id: int, zone_code: str) -> tuple[int, str] | None:
        """The zone's id and its code as stored (the lookup ignores case, answers must not)."""
        row = await self.db.fetch_one(
            "SELECT id, code FROM zones WHERE concert_id = %s AND code = %s",
            (concert_id, zone_code),
        )
        return None if row is None else (int(row["id"]), row["code"])

    async def seats(self, zone_id: int, zone_code: str, row: str | None) -> list[Seat]:
        sql = "SELECT id, row_label, number, price, status FROM seats WHERE zone_id = %s"
        args: tuple[Any, ...] = (zone_id,)
        if row is not None:
            sql += " AND row_label = %s"
            args += (row,)
        rows = await self.db.fetch_all(sql + " ORDER BY row_label, number", args)
        return [
            Seat(
                id=r["id"],
                zone_code=zone_code,
                row=r["row_label"],
                number=r["number"],
                price=r["price"],
                status=r["status"],
            )
            for r in rows
        ]
