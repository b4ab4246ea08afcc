"""Gathering what the checkers read, once the run has quiesced: the primary's tables and
the payment provider's ledger, as the typed snapshots of ``scenarios.checks.snapshot``.

All tables (the consumer's included) are read in one ``START TRANSACTION WITH CONSISTENT
SNAPSHOT`` on the primary, with ``checked_at`` from the database clock in that
transaction, so "is this hold past its TTL" is asked against the clock the service wrote
with; the provider's ledger is read after it. A table that does not exist yet
(a service version before payments or the outbox) leaves its field ``None``: the checks
that need it say unknown instead of passing over nothing.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pymysql

from scenarios.checks.snapshot import (
    AppliedWebhook,
    DbState,
    HoldRow,
    HoldSeatRow,
    Ledger,
    OutboxEvent,
    ReceivedEvent,
    ReceivedEvents,
    ReservationRow,
    SeatRow,
)
from service import schema
from service.config import Settings

Row = TypeVar("Row")
LEDGER_TIMEOUT_S = 10.0


def epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.replace(tzinfo=UTC).timestamp()


# When a hold took its seats: holds.claimed_at on rows written before migration 0007, the
# earliest hold_seats.claimed_at (stamped in the claim's INSERT after the seat writes) since.
HOLDS_WITH_CLAIM_TIME = (
    "SELECT h.*, COALESCE(h.claimed_at, (SELECT MIN(hs.claimed_at) FROM hold_seats hs"
    " WHERE hs.hold_id = h.id)) AS seats_claimed_at FROM holds h"
)


def read_snapshot(settings: Settings) -> tuple[DbState, ReceivedEvents | None]:
    """The booking tables and the consumer's table, in one consistent snapshot."""
    with schema.connect(settings.db_admin) as conn:
        with conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            cur.execute("SELECT UTC_TIMESTAMP(6) AS now")
            checked_at = epoch(cur.fetchone()["now"])
            cur.execute("SHOW TABLES")
            tables = {next(iter(row.values())) for row in cur.fetchall()}
            state = DbState(
                checked_at=checked_at or 0.0,
                seats=rows(cur, "SELECT id, concert_id, status, hold_id FROM seats", seat_row),
                holds=rows(cur, HOLDS_WITH_CLAIM_TIME, hold_row),
                hold_seats=rows(cur, "SELECT * FROM hold_seats", hold_seat_row),
                reservations=rows(cur, "SELECT * FROM reservations", reservation_row),
                outbox=(
                    rows(cur, "SELECT id, type, published_at FROM outbox", outbox_row)
                    if "outbox" in tables
                    else None
                ),
                applied_webhooks=(
                    rows(
                        cur,
                        "SELECT event_id, times_applied, payment_key FROM webhook_events",
                        applied_webhook_row,
                    )
                    if "webhook_events" in tables
                    else None
                ),
            )
            events = (
                ReceivedEvents(
                    rows(
                        cur,
                        "SELECT event_id, type, first_received_at, deliveries FROM received_events",
                        received_event_row,
                    )
                )
                if "received_events" in tables
                else None
            )
        conn.rollback()
    return state, events


def read_db_state(settings: Settings) -> DbState:
    return read_snapshot(settings)[0]


def rows(cur: Any, sql: str, make: Callable[[dict[str, Any]], Row]) -> tuple[Row, ...]:
    cur.execute(sql)
    return tuple(make(row) for row in cur.fetchall())


def seat_row(r: dict[str, Any]) -> SeatRow:
    return SeatRow(r["id"], r["concert_id"], r["status"], r["hold_id"])


def hold_row(r: dict[str, Any]) -> HoldRow:
    return HoldRow(
        id=r["id"],
        concert_id=r["concert_id"],
        member_id=r["member_id"],
        status=r["status"],
        amount=r["amount"],
        created_at=epoch(r["created_at"]) or 0.0,
        expires_at=epoch(r["expires_at"]) or 0.0,
        released_at=epoch(r["released_at"]),
        released_by=r["released_by"],
        claimed_at=epoch(r.get("seats_claimed_at", r.get("claimed_at"))),
    )


def hold_seat_row(r: dict[str, Any]) -> HoldSeatRow:
    return HoldSeatRow(
        id=r["id"],
        hold_id=r["hold_id"],
        seat_id=r["seat_id"],
        concert_id=r["concert_id"],
        price=r["price"],
        released_at=epoch(r["released_at"]),
    )


def reservation_row(r: dict[str, Any]) -> ReservationRow:
    return ReservationRow(
        id=r["id"],
        hold_id=r["hold_id"],
        member_id=r["member_id"],
        concert_id=r["concert_id"],
        order_id=r["order_id"],
        amount=r["amount"],
        status=r["status"],
        created_at=epoch(r["created_at"]) or 0.0,
        expires_at=epoch(r["expires_at"]) or 0.0,
        confirmed_at=epoch(r["confirmed_at"]),
        released_at=epoch(r["released_at"]),
    )


def outbox_row(r: dict[str, Any]) -> OutboxEvent:
    return OutboxEvent(str(r["id"]), r["type"], epoch(r["published_at"]))


def applied_webhook_row(r: dict[str, Any]) -> AppliedWebhook:
    return AppliedWebhook(str(r["event_id"]), int(r["times_applied"]), r.get("payment_key"))


def read_received_events(settings: Settings) -> ReceivedEvents | None:
    """The consumer's record: one row per event it applied (redeliveries are counted in the
    row, not repeated), or None when this service version has no consumer table."""
    return read_snapshot(settings)[1]


def received_event_row(r: dict[str, Any]) -> ReceivedEvent:
    return ReceivedEvent(
        str(r["event_id"]), r["type"], epoch(r["first_received_at"]), int(r["deliveries"])
    )


def read_ledger(psp_url: str) -> Ledger:
    with urllib.request.urlopen(f"{psp_url}/_lab/ledger", timeout=LEDGER_TIMEOUT_S) as answer:
        return Ledger.from_psp(json.load(answer))
