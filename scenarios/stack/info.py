"""What a caller needs to know of the lab's stack: its parts, their order, and its URLs.

``StackInfo`` is what ``Stack.up`` answers and what the runner, the CLI and the variants
read; the part names and the start order are shared by bring-up, status and ``down``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scenarios.stack import influxdb, mariadb, rabbitmq, redis
from scenarios.stack.net import LOOPBACK
from scenarios.stack.state import PartRecord
from service.config import NO_CLIENT_RATE_LIMITS, Settings

PRIMARY, REPLICA, REDIS, RABBITMQ = mariadb.PRIMARY, mariadb.REPLICA, redis.PART, rabbitmq.PART
INFLUXDB = influxdb.PART  # optional: started only where influxd is installed
# Start order; ``down`` stops in reverse. The service workers and the providers (``--app``)
# will join here as further parts, started after the servers and stopped before them.
SERVER_PARTS = (PRIMARY, REPLICA, REDIS, RABBITMQ, INFLUXDB)
DEFAULT_PORTS = {PRIMARY: 3407, REPLICA: 3408, REDIS: 6479}
DATABASE = "ticketlab"
APP_USER = APP_PASSWORD = "ticketlab"

LAB_REDIS_VARIABLE = "TICKETLAB_LAB_REDIS_URL"
URL_VARIABLES = (
    ("TICKETLAB_DB_URL", "db_url"),
    ("TICKETLAB_REPLICA_URL", "replica_url"),
    ("TICKETLAB_DB_ADMIN_URL", "db_admin_url"),
    ("TICKETLAB_REDIS_URL", "redis_url"),
    ("TICKETLAB_AMQP_URL", "amqp_url"),
)


@dataclass(frozen=True)
class StackInfo:
    """What a caller needs to use the stack: its URLs, and which parts this ``up`` started."""

    lab_dir: Path
    db_url: str
    replica_url: str
    db_admin_url: str
    redis_url: str
    amqp_url: str
    parts: dict[str, PartRecord]
    started: tuple[str, ...] = ()
    seconds: float = 0.0
    influx_url: str | None = None  # None: influxd is not installed, nothing streams

    @property
    def already_running(self) -> bool:
        return not self.started

    def env(self) -> dict[str, str]:
        """The ``TICKETLAB_*`` variables that point the service (or a shell) at this stack.

        ``TICKETLAB_LAB_REDIS_URL`` marks the Redis URL as the lab's own, so a shell that
        exported it and runs ``up`` again after a ``down`` gets a new lab Redis rather than
        being told its (stopped) Redis was given and does not answer.
        """
        env = {variable: getattr(self, attr) for variable, attr in URL_VARIABLES}
        redis_part = self.parts.get(REDIS)
        if redis_part is not None and redis_part.owned:
            env[LAB_REDIS_VARIABLE] = self.redis_url
        if self.influx_url:
            env["TICKETLAB_INFLUX_URL"] = self.influx_url
        return env

    def broker_version(self) -> dict[str, str]:
        """``{"rabbitmq": version}`` for a run's manifest, or nothing if the broker is mute."""
        version = rabbitmq.server_version(self.amqp_url)
        return {"rabbitmq": version} if version else {}

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "db_url": self.db_url,
            "replica_url": self.replica_url,
            "db_admin_url": self.db_admin_url,
            "redis_url": self.redis_url,
            "amqp_url": self.amqp_url,
            # All buyers come from one address here: per-member limits still apply.
            **NO_CLIENT_RATE_LIMITS,
        }
        return Settings(**{**values, **overrides})


def db_urls(primary_port: int, replica_port: int) -> dict[str, str]:
    host = LOOPBACK
    return {
        "db_url": f"mysql://{APP_USER}:{APP_PASSWORD}@{host}:{primary_port}/{DATABASE}",
        "replica_url": f"mysql://{APP_USER}:{APP_PASSWORD}@{host}:{replica_port}/{DATABASE}",
        "db_admin_url": f"mysql://root@{host}:{primary_port}/{DATABASE}",
    }


def in_part_order(parts: dict[str, PartRecord]) -> dict[str, PartRecord]:
    rank = {name: n for n, name in enumerate(SERVER_PARTS)}
    return dict(sorted(parts.items(), key=lambda item: rank.get(item[0], len(rank))))
