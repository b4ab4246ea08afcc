from service import schema
from service.config import Settings
from service.domain.venue import venue_layout


def test_migrate_is_idempotent(settings: Settings) -> None:
    assert schema.migrate(settings) == []


def test_seed_creates_every_seat_of_the_layout(settings: Settings) -> None:
    layout = venue_layout(zones=3, seats_per_row=5, max_rows=2)
    result = schema.seed(settings, layout=layout)
    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM seats WHERE concert_id = %s", (result.concert_ids[0],))
        assert cur.fetchone()[0] == 3 * 2 * 5 == result.seats


def test_service_user_cannot_change_the_schema(settings: Settings) -> None:
    import pymysql
    import pytest

    with schema.connect(settings.db) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM concerts")
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("DROP TABLE concerts")
