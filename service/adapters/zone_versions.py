"""Zone versions: the change counter that keeps every worker's seat-map cache honest.

Every statement that changes a seat's status notes the seats it changed
(``note_changed``); ``Session.commit`` then bumps the version of each zone they belong to
(``bump_noted``), in the same transaction, as its last statement before COMMIT. So a
reader that sees a zone's new version in its snapshot sees the seat changes too, and one
that sees the old version sees none of them: (zone, version) names one set of statuses.

The bump is one statement, deferred to ride with the COMMIT (``round_trips``), when the
transaction's own reads already said which zones its seats are in (``learn_zones``: a seat
never changes zone); otherwise a plain read of the seats finds them first.

Bumping last matters for locks: the seat rows are already locked, in id order, by the
statement that changed them, and the zone rows are taken after all of them, in key order.
Writers of one zone spread over ``SHARDS`` rows (by connection id), so they wait for each
other only when two connections share a shard, and only for the time of a COMMIT.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from service.adapters.round_trips import defer

SHARDS = 16
Cursor = Any


def note_changed(cur: Cursor, seat_ids: Iterable[int], rowcount: int) -> None:
    """Remember that the last statement changed some of ``seat_ids`` (``rowcount`` > 0).

    A cursor that does not track (one not made by ``Database``) gets nothing noted; its
    owner must call ``bump_zones_of`` itself before committing.
    """
    if rowcount <= 0:
        return
    noted = getattr(cur, "changed_seats", None)
    if noted is not None:
        noted.update(seat_ids)


def learn_zones(cur: Cursor, rows: Iterable[Mapping[str, Any]], seat_key: str = "id") -> None:
    """Remember the (concert_id, zone_id) of the seats in ``rows`` (read by this transaction),
    so bumping their zones needs no lookup. Rows without a seat (``None``) are skipped."""
    known = getattr(cur, "seat_zones", None)
    if known is None:
        return
    for row in rows:
        if row[seat_key] is not None:
            known[row[seat_key]] = (row["concert_id"], row["zone_id"])


async def bump_noted(cur: Cursor) -> None:
    """Bump the zones of the seats noted on ``cur`` and forget them; call it before COMMIT."""
    noted = getattr(cur, "changed_seats", None)
    if not noted:
        return
    seat_ids = sorted(noted)
    noted.clear()
    known = getattr(cur, "seat_zones", {})
    if all(seat_id in known for seat_id in seat_ids):
        await bump_zones(cur, {known[seat_id] for seat_id in seat_ids})
    else:
        await bump_zones_of(cur, seat_ids)


async def bump_zones_of(cur: Cursor, seat_ids: Iterable[int]) -> None:
    """One more on the version of every zone that holds one of ``seat_ids``.

    The seat→zone lookup is a plain consistent read (a seat never changes zone), so it
    takes no lock; the bump inserts a shard row the first time and adds one after that.
    """
    ids = sorted(set(seat_ids))
    if not ids:
        return
    await cur.execute(
        "SELECT DISTINCT concert_id, zone_id FROM seats"
        f" WHERE id IN ({', '.join(['%s'] * len(ids))}) ORDER BY concert_id, zone_id",
        tuple(ids),
    )
    await bump_zones(cur, {(row["concert_id"], row["zone_id"]) for row in await cur.fetchall()})


async def bump_zones(cur: Cursor, zones: Iterable[tuple[int, int]]) -> None:
    """One more on each (concert_id, zone_id)'s version, in key order, deferred to the
    transaction's next round trip (its COMMIT, when called from ``bump_noted``)."""
    ordered = sorted(set(zones))
    if not ordered:
        return
    await defer(
        cur,
        "INSERT INTO zone_versions (concert_id, zone_id, shard, version) VALUES "
        + ", ".join([f"(%s, %s, CONNECTION_ID() %% {SHARDS}, 1)"] * len(ordered))
        + " ON DUPLICATE KEY UPDATE version = version + 1",
        tuple(value for zone in ordered for value in zone),
    )


async def concert_versions(cur: Cursor, concert_id: int) -> dict[int, int]:
    """Every zone of the concert that has ever changed, with its version (absent = 0)."""
    await cur.execute(
        "SELECT zone_id, SUM(version) AS version FROM zone_versions WHERE concert_id = %s"
        " GROUP BY zone_id",
        (concert_id,),
    )
    return {int(row["zone_id"]): int(row["version"]) for row in await cur.fetchall()}


async def zone_version(cur: Cursor, concert_id: int, zone_id: int) -> int:
    await cur.execute(
        "SELECT COALESCE(SUM(version), 0) AS version FROM zone_versions"
        " WHERE concert_id = %s AND zone_id = %s",
        (concert_id, zone_id),
    )
    row = await cur.fetchone()
    return int(row["version"])
