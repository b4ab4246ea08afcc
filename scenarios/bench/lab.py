"""Where measurements run services: the lab's servers, a database of the bench's own, and the
service started as a scenario starts it (``scenarios/apps.py``), one at a time.

The bench never shares a database, user, key prefix or broker names with a scenario run:
its database and user are named after its token and dropped at the end, and its queues
carry its key prefix (the caller deletes them with the stack's ``delete_run_objects``).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pymysql
import redis

from scenarios.apps import AppPorts, Apps
from scenarios.stack.paths import LabPaths
from service import schema
from service.adapters.tokens import AccessTokens
from service.config import DatabaseUrl, Settings
from service.domain.venue import venue_layout


@dataclass(frozen=True)
class Member:
    id: int
    token: str  # a valid access token of the member, signed with the service's secret


@dataclass(frozen=True)
class RunningService:
    """A service the bench started: where it answers, its supervisor's pid, its settings."""

    url: str
    pid: int | None
    settings: Settings


@dataclass(frozen=True)
class Venue:
    concert_id: int
    seat_ids: list[int]


def own_database(base: Settings, token: str) -> Settings:
    """``base`` pointed at a database and DML user named after ``token`` on the same server."""
    admin = base.db_admin
    app = DatabaseUrl.parse(base.db_url)
    database = f"bench_{token}"
    user = f"b_{token}"
    return dataclasses.replace(
        base,
        db_url=f"mysql://{user}:pw_{token}@{app.host}:{app.port}/{database}",
        replica_url="",
        db_admin_url=(
            f"mysql://{admin.user}"
            + (f":{admin.password}" if admin.password else "")
            + f"@{admin.host}:{admin.port}/{database}"
        ),
        key_prefix=f"{base.key_prefix}b{token}",
    )


@dataclass
class BenchLab:
    """Services for measurements, on ``base``'s servers; ``out`` keeps their logs.

    ``paths`` is a lab directory for the apps' pid files and logs (the lab's own, so
    ``ticketlab down`` stops a service a killed bench left behind).
    """

    paths: LabPaths
    base: Settings
    out: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    started: int = 0

    @classmethod
    def on(cls, paths: LabPaths, servers: Settings, out: Path) -> BenchLab:
        """A lab with a fresh database of its own on ``servers``' MariaDB."""
        settings = own_database(servers, secrets.token_hex(3))
        schema.migrate(settings)
        return cls(paths, settings, out)

    def close(self) -> None:
        """Drop the bench's database and user, and its services' Redis keys."""
        try:
            schema.drop_database(self.base)
        finally:
            client = redis.Redis.from_url(self.base.redis_url)
            try:
                keys = list(client.scan_iter(match=f"{self.base.key_prefix}*", count=1000))
                if keys:
                    client.delete(*keys)
            finally:
                client.close()

    def reset(self) -> None:
        """Every booking gone and every seat free, as before the first measurement."""
        schema.reset(self.base)

    def seed(self, *, zones: int, rows: int, seats_per_row: int, ticket_limit: int) -> Venue:
        layout = venue_layout(zones, seats_per_row, rows)
        concert_id = schema.seed(self.base, layout=layout, ticket_limit=ticket_limit).concert_ids[0]
        with self._admin() as cur:
            cur.execute("SELECT id FROM seats WHERE concert_id = %s ORDER BY id", (concert_id,))
            seat_ids = [int(row[0]) for row in cur.fetchall()]
        return Venue(concert_id, seat_ids)

    def members(self, count: int) -> list[Member]:
        """``count`` members, as sign-in would have made them, each with an access token.

        The tokens are signed with the service's secret, as its own sign-in signs them: the
        bench measures holds, not the OAuth round trips in front of them.
        """
        now = datetime.now(UTC).replace(tzinfo=None)
        tag = secrets.token_hex(4)
        with self._admin() as cur:
            cur.executemany(
                "INSERT INTO members (issuer, subject, email, name, created_at, last_login_at)"
                " VALUES (%s, %s, NULL, NULL, %s, %s)",
                [("bench", f"{tag}-{n}", now, now) for n in range(count)],
            )
            cur.execute(
                "SELECT id FROM members WHERE issuer = 'bench' AND subject LIKE %s ORDER BY id",
                (f"{tag}-%",),
            )
            ids = [int(row[0]) for row in cur.fetchall()]
        tokens = AccessTokens(self.base)
        return [Member(member_id, tokens.issue(member_id)) for member_id in ids]

    @contextmanager
    def _admin(self) -> Iterator[pymysql.cursors.Cursor]:
        with schema.connect(self.base.db_admin) as conn, conn.cursor() as cur:
            yield cur
            conn.commit()

    @contextmanager
    def service(
        self, name: str, *, workers: int = 1, **overrides: object
    ) -> Iterator[RunningService]:
        """The service (and its providers) with ``overrides`` on the bench's settings,
        started and waited for as a scenario's; stopped, logs kept in ``out/logs/<name>``."""
        ports = AppPorts.choose()
        self.started += 1
        settings = dataclasses.replace(
            self.base,
            **{
                "key_prefix": f"{self.base.key_prefix}s{self.started}",
                "public_url": ports.service_url,
                "oidc_issuer": ports.idp_url,
                "psp_url": ports.psp_url,
                **overrides,
            },
        )
        apps = Apps(self.paths, ports, settings, workers=workers)
        try:
            apps.start(self.env)
            yield RunningService(ports.service_url, apps.service_pid, settings)
        finally:
            apps.stop()
            apps.collect_logs(self.out / "logs" / name)


def remove_logs(out: Path) -> None:
    shutil.rmtree(out / "logs", ignore_errors=True)
