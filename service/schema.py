"""Schema administration: migrate, seed and reset, run with the admin account.

The service itself connects as a user that may only SELECT/INSERT/UPDATE/DELETE, so a
bug or an injection cannot drop a table, and on a replica ``read_only`` still binds it
(a global ALL would carry SUPER and bypass it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

import pymysql

from service.adapters import zone_versions
from service.config import DatabaseUrl, Settings
from service.domain.venue import DEFAULT_TICKET_LIMIT, ZoneSpec, capacity, venue_layout

BOOKING_TABLES = (
    "hold_seats",
    "holds",
    "reservations",
    "payments",
    "webhook_events",
    "outbox",
    "received_events",
)
INSERT_BATCH = 2000
CONNECT_TIMEOUT_S = 10
READ_TIMEOUT_S = 120  # an admin statement or a lab probe never waits without a bound


def connect(url: DatabaseUrl, *, database: bool = True) -> pymysql.connections.Connection:
    return pymysql.connect(
        host=url.host,
        port=url.port,
        user=url.user,
        password=url.password,
        database=url.database if database else None,
        autocommit=False,
        charset="utf8mb4",
        init_command="SET time_zone = '+00:00'",
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        write_timeout=READ_TIMEOUT_S,
    )


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("service") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), (folder / name).read_text()) for name in names]


def split_statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def migrate(settings: Settings) -> list[str]:
    """Create the database and the service's user if needed; apply new migrations in order."""
    admin, app = settings.db_admin, settings.db
    with connect(admin, database=False) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{admin.database}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{admin.database}`")
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version VARCHAR(64) PRIMARY KEY, applied_at DATETIME(6) NOT NULL)"
        )
        cur.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in cur.fetchall()}
        applied = []
        for version, sql in migration_files():
            if version in done:
                continue
            for statement in split_statements(sql):
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (%s, UTC_TIMESTAMP(6))",
                (version,),
            )
            conn.commit()
            applied.append(version)
        if app.user != admin.user:
            cur.execute(
                "CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (app.user, app.password)
            )
            cur.execute(
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON `{admin.database}`.* TO %s@'%%'",
                (app.user,),
            )
        conn.commit()
    return applied


@dataclass(frozen=True)
class SeedResult:
    concert_ids: list[int]
    seats: int
    seconds: float


def seed(
    settings: Settings,
    *,
    concerts: int = 1,
    layout: tuple[ZoneSpec, ...] | None = None,
    base_price: int = 50_000,
    ticket_limit: int = DEFAULT_TICKET_LIMIT,
    starts_at: datetime | None = None,
) -> SeedResult:
    """Add concerts with their zones and every seat, in multi-row inserts."""
    if concerts < 1:
        raise ValueError(f"concerts must be at least 1, got {concerts}")
    layout = layout or venue_layout()
    starts_at = starts_at or datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    began = time.perf_counter()
    ids = []
    with connect(settings.db_admin) as conn, conn.cursor() as cur:
        for n in range(concerts):
            cur.execute(
                "INSERT INTO concerts (title, venue, starts_at, base_price, ticket_limit)"
                " VALUES (%s, %s, %s, %s, %s)",
                (
                    f"Concert {n + 1}",
                    "KSPO Dome",
                    (starts_at + timedelta(days=n)).replace(tzinfo=None),
                    base_price,
                    ticket_limit,
                ),
            )
            concert_id = cur.lastrowid
            ids.append(concert_id)
            rows = []
            for zone in layout:
                cur.execute(
                    "INSERT INTO zones (concert_id, code, grade, price, row_count, seats_per_row)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    (
                        concert_id,
                        zone.code,
                        zone.grade.value,
                        zone.price(base_price),
                        len(zone.rows),
                        zone.seats_per_row,
                    ),
                )
                zone_id = cur.lastrowid
                cur.executemany(
                    "INSERT INTO zone_versions (concert_id, zone_id, shard, version)"
                    " VALUES (%s, %s, %s, 0)",
                    [(concert_id, zone_id, shard) for shard in range(zone_versions.SHARDS)],
                )
                price = zone.price(base_price)
                rows.extend((concert_id, zone_id, row, num, price) for row, num in zone.seats())
            for start in range(0, len(rows), INSERT_BATCH):
                cur.executemany(
                    "INSERT INTO seats (concert_id, zone_id, row_label, number, price)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    rows[start : start + INSERT_BATCH],
                )
        conn.commit()
    return SeedResult(ids, concerts * capacity(layout), time.perf_counter() - began)


def reset(settings: Settings) -> None:
    """Empty every booking and free every seat, so the next variant starts level.

    Every zone's version moves on in the same transaction (it never goes back), so a
    worker's cached seat map of before the reset is seen to be out of date.
    """
    with connect(settings.db_admin) as conn, conn.cursor() as cur:
        for table in reset_tables(cur):
            cur.execute(f"DELETE FROM `{table}`")
        cur.execute(
            "UPDATE seats SET status = 'AVAILABLE', hold_id = NULL, version = 0"
            " WHERE status <> 'AVAILABLE' OR hold_id IS NOT NULL OR version <> 0"
        )
        cur.execute(
            "INSERT INTO zone_versions (concert_id, zone_id, shard, version)"
            " SELECT concert_id, id, 0, 1 FROM zones"
            " ON DUPLICATE KEY UPDATE version = zone_versions.version + 1"
        )
        conn.commit()


def reset_tables(cur: pymysql.cursors.Cursor) -> list[str]:
    """Booking tables that exist; later migrations register theirs in ``BOOKING_TABLES``."""
    cur.execute("SHOW TABLES")
    present = {row[0] for row in cur.fetchall()}
    return [t for t in (*BOOKING_TABLES, "refresh_tokens") if t in present]


def drop_database(settings: Settings) -> None:
    admin = settings.db_admin
    with connect(admin, database=False) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{admin.database}`")
        if settings.db.user != admin.user:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (settings.db.user,))
        conn.commit()
