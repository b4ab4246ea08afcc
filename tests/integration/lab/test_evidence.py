"""The runner's snapshot of the primary maps every booking row, in one consistent read."""

from scenarios.checks.result import Verdict
from scenarios.checks.seats import no_double_booking
from scenarios.evidence import read_db_state
from service import schema
from service.config import Settings


def run_sql(settings: Settings, *statements: tuple[str, tuple]) -> None:
    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        for sql, args in statements:
            cur.execute(sql, args)
        conn.commit()


def test_the_snapshot_holds_every_seat_of_the_venue(settings: Settings, concert_id: int) -> None:
    state = read_db_state(settings)
    assert len([s for s in state.seats if s.concert_id == concert_id]) == 40
    assert state.checked_at > 1_700_000_000


def test_a_seat_in_two_live_holds_reads_back_as_double_booked(
    settings: Settings, concert_id: int
) -> None:
    hold = (
        "INSERT INTO holds (id, concert_id, member_id, status, strategy, amount, created_at,"
        " expires_at) VALUES (%s, %s, %s, 'ACTIVE', 'naive', 1, UTC_TIMESTAMP(6),"
        " UTC_TIMESTAMP(6) + INTERVAL 1 HOUR)"
    )
    seat = "INSERT INTO hold_seats (hold_id, seat_id, concert_id, price) VALUES (%s, %s, %s, 1)"
    run_sql(
        settings,
        (hold, (901, concert_id, 1)),
        (hold, (902, concert_id, 2)),
        (seat, (901, 5, concert_id)),
        (seat, (902, 5, concert_id)),
        ("UPDATE seats SET status = 'HELD', hold_id = 902 WHERE id = 5", ()),
    )
    state = read_db_state(settings)
    assert {h.id for h in state.holds} >= {901, 902}
    result = no_double_booking(state)
    assert result.verdict is Verdict.FAIL
    assert result.metrics["seats_held_twice"] == 1


async def test_a_granted_hold_records_when_it_claimed_its_seats(
    settings: Settings, concert_id: int
) -> None:
    from datetime import UTC, datetime, timedelta

    from service.adapters.claims import build_claimer
    from service.adapters.db import Database, create_pool
    from service.ports import ClaimRequest

    run_sql(
        settings,
        (
            "INSERT INTO members (id, issuer, subject, created_at, last_login_at) VALUES"
            " (77, 'test', 'm77', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
            (),
        ),
    )
    db = Database(await create_pool(settings.db, settings), 2.0)
    try:
        now = datetime.now(UTC)
        hold = await build_claimer("conditional", settings, db, None).claim(
            ClaimRequest(concert_id, 77, (20,), now, now + timedelta(seconds=60))
        )
    finally:
        await db.close()
    row = next(h for h in read_db_state(settings).holds if h.id == hold.id)
    assert row.claimed_at is not None and row.claimed_at >= row.created_at


def test_received_events_read_back_once_each_however_often_delivered(settings: Settings) -> None:
    from scenarios.evidence import read_received_events

    insert = (
        "INSERT INTO received_events (event_id, type, aggregate_id, occurred_at,"
        " first_received_at, last_received_at, deliveries)"
        " VALUES (%s, 'hold.created', '1', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6),"
        " UTC_TIMESTAMP(6), %s)"
    )
    run_sql(settings, (insert, ("e-1", 1)), (insert, ("e-2", 3)))
    events = read_received_events(settings)
    assert events is not None
    assert sorted(r.event_id for r in events.rows) == ["e-1", "e-2"]
