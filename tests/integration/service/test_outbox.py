"""The outbox write on real MariaDB: an event commits with its transaction, or not at all."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pytest

from service import schema
from service.adapters import bookings, reservations
from service.adapters.claims import build_claimer
from service.adapters.db import Database
from service.adapters.outbox import record_event, unpublished_count
from service.config import Settings
from service.domain import events
from service.domain.errors import SeatsTaken
from service.domain.holds import ReleasedBy
from service.ports import ClaimRequest
from service.request_id import request_id_var


class Colour(StrEnum):
    RED = "red"


async def outbox_row(db: Database, event_id: str) -> dict | None:
    return await db.fetch_one("SELECT * FROM outbox WHERE id = %s", (event_id,))


async def test_an_event_commits_with_its_transaction(db: Database) -> None:
    async with db.transaction() as cur:
        event_id = await record_event(cur, events.HOLD_CREATED, "42", {"seats": [1, 2]}, "req-1")
    row = await outbox_row(db, event_id)
    assert row is not None
    assert uuid.UUID(event_id).version == 4
    assert row["type"] == "hold.created"
    assert row["aggregate_id"] == "42"
    assert row["correlation_id"] == "req-1"
    assert row["published_at"] is None
    assert json.loads(row["payload"]) == {"seats": [1, 2]}


async def test_an_event_written_in_a_rolled_back_transaction_never_appears(db: Database) -> None:
    written: list[str] = []
    with pytest.raises(RuntimeError):
        async with db.transaction() as cur:
            written.append(await record_event(cur, events.HOLD_RELEASED, "7", {}))
            raise RuntimeError("the change failed after its event was written")
    assert len(written) == 1
    assert await outbox_row(db, written[0]) is None


async def test_the_correlation_id_defaults_to_the_current_request_id(db: Database) -> None:
    token = request_id_var.set("abc-123")
    try:
        async with db.transaction() as cur:
            with_request = await record_event(cur, events.HOLD_CREATED, "1", {})
    finally:
        request_id_var.reset(token)
    async with db.transaction() as cur:
        without_request = await record_event(cur, events.HOLD_CREATED, "1", {})
    first, second = await outbox_row(db, with_request), await outbox_row(db, without_request)
    assert first is not None and first["correlation_id"] == "abc-123"
    assert second is not None and second["correlation_id"] is None


async def test_payloads_with_domain_values_are_stored_as_plain_json(db: Database) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with db.transaction() as cur:
        event_id = await record_event(
            cur, events.PAYMENT_CAPTURED, "pk_1", {"at": moment, "colour": Colour.RED}
        )
        assert await unpublished_count(cur) >= 1
    row = await outbox_row(db, event_id)
    assert row is not None
    assert json.loads(row["payload"]) == {"at": "2030-01-02T03:04:05+00:00", "colour": "red"}


async def test_a_malformed_event_type_is_refused_before_the_insert(db: Database) -> None:
    async with db.transaction() as cur:
        with pytest.raises(ValueError, match=r"noun\.verb"):
            await record_event(cur, "Hold Created", "1", {})


# ---- events of the booking flow -------------------------------------------------------


@pytest.fixture(scope="module")
def member_id(settings: Settings) -> int:
    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO members (issuer, subject, created_at, last_login_at)"
            " VALUES ('test', 'outbox', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"
        )
        conn.commit()
        return int(cur.lastrowid)


async def last_seq(db: Database) -> int:
    row = await db.fetch_one("SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox")
    assert row is not None
    return int(row["seq"])


async def events_of(db: Database, aggregate_id: object, since: int) -> list[tuple[str, dict]]:
    """Hold events of one hold written after ``since`` (other tests reuse small ids)."""
    rows = await db.fetch_all(
        "SELECT type, payload FROM outbox WHERE aggregate_id = %s AND seq > %s"
        " AND type IN ('hold.created', 'hold.released') ORDER BY seq",
        (str(aggregate_id), since),
    )
    return [(r["type"], json.loads(r["payload"])) for r in rows]


async def free_seat(db: Database, concert_id: int) -> int:
    row = await db.fetch_one(
        "SELECT id FROM seats WHERE concert_id = %s AND status = 'AVAILABLE' ORDER BY id LIMIT 1",
        (concert_id,),
    )
    assert row is not None
    return int(row["id"])


def claim_request(concert_id: int, member: int, seat_id: int, ttl_s: float = 300) -> ClaimRequest:
    now = datetime.now(UTC)
    return ClaimRequest(concert_id, member, (seat_id,), now, now + timedelta(seconds=ttl_s))


async def test_a_granted_hold_and_its_release_by_the_member_are_events(
    settings: Settings, db: Database, concert_id: int, member_id: int
) -> None:
    claimer = build_claimer("conditional", settings, db, None)
    seat_id = await free_seat(db, concert_id)
    since = await last_seq(db)
    hold = await claimer.claim(claim_request(concert_id, member_id, seat_id))
    async with db.transaction() as cur:
        await bookings.release_by_member(cur, hold.id, member_id, datetime.now(UTC))
    found = await events_of(db, hold.id, since)
    assert [t for t, _ in found] == ["hold.created", "hold.released"]
    created = found[0][1]
    assert created["seat_ids"] == [seat_id]
    assert created["member_id"] == member_id
    assert created["amount"] == hold.amount
    assert found[1][1] == {"released_by": "member"}


async def test_a_refused_hold_leaves_no_event(
    settings: Settings, db: Database, concert_id: int, member_id: int
) -> None:
    claimer = build_claimer("conditional", settings, db, None)
    seat_id = await free_seat(db, concert_id)
    await claimer.claim(claim_request(concert_id, member_id, seat_id))
    before = await db.fetch_one("SELECT COUNT(*) AS n FROM outbox")
    with pytest.raises(SeatsTaken):
        await claimer.claim(claim_request(concert_id, member_id, seat_id))
    after = await db.fetch_one("SELECT COUNT(*) AS n FROM outbox")
    assert before == after


async def test_expiry_releases_are_events_for_holds_and_unpaid_reservations(
    settings: Settings, db: Database, concert_id: int, member_id: int
) -> None:
    claimer = build_claimer("conditional", settings, db, None)
    since = await last_seq(db)
    expired_hold = await claimer.claim(
        claim_request(concert_id, member_id, await free_seat(db, concert_id), ttl_s=0.2)
    )
    reserved_hold = await claimer.claim(
        claim_request(concert_id, member_id, await free_seat(db, concert_id), ttl_s=0.4)
    )
    async with db.transaction() as cur:
        reservation = await reservations.convert_hold(
            cur, reserved_hold.id, member_id, datetime.now(UTC)
        )
    later = datetime.now(UTC) + timedelta(seconds=1)
    async with db.transaction() as cur:
        assert await bookings.release_expired_hold(cur, expired_hold.id, ReleasedBy.SWEEPER, later)
        assert await bookings.release_expired_hold(
            cur, reserved_hold.id, ReleasedBy.CONSUMER, later
        )
    assert (await events_of(db, expired_hold.id, since))[-1] == (
        "hold.released",
        {"released_by": "sweeper"},
    )
    row = await db.fetch_one(
        "SELECT payload FROM outbox WHERE type = 'reservation.expired' AND aggregate_id = %s"
        " AND seq > %s",
        (str(reservation.id), since),
    )
    assert row is not None
    assert json.loads(row["payload"]) == {"hold_id": reserved_hold.id, "released_by": "consumer"}
