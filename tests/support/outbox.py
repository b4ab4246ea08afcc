"""What became of events written to the outbox: still unpublished, or received (how often)."""

from __future__ import annotations

from service.adapters.db import Database


def placeholders(ids: list[str]) -> str:
    return ", ".join(["%s"] * len(ids))


async def received(db: Database, ids: list[str]) -> dict[str, int]:
    """event id → deliveries recorded by the consumer, for those of ``ids`` it received."""
    if not ids:
        return {}
    rows = await db.fetch_all(
        f"SELECT event_id, deliveries FROM received_events WHERE event_id IN ({placeholders(ids)})",
        tuple(ids),
    )
    return {r["event_id"]: r["deliveries"] for r in rows}


async def unpublished(db: Database, ids: list[str]) -> int:
    """How many of ``ids`` the relay has not published yet."""
    if not ids:
        return 0
    row = await db.fetch_one(
        "SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL"
        f" AND id IN ({placeholders(ids)})",
        tuple(ids),
    )
    assert row is not None
    return int(row["n"])
