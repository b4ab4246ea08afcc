"""Fresh, isolated real resources for each test module: a database, a key prefix, a vhost.

Every module gets its own MariaDB database (and DML-only user), Redis key prefix and
RabbitMQ vhost, so modules never see each other's rows, keys or queues. The servers are
the machine's (CI starts them); override their addresses with the ``TICKETLAB_TEST_*``
variables below.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import redis

from service import schema
from service.config import NO_CLIENT_RATE_LIMITS, Settings

ADMIN_URL = os.environ.get("TICKETLAB_TEST_DB_ADMIN_URL", "mysql://root@127.0.0.1:3306/mysql")
REDIS_URL = os.environ.get("TICKETLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_BASE = os.environ.get("TICKETLAB_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
AMQP_USER = os.environ.get("TICKETLAB_TEST_AMQP_USER", "guest")
# The MySQL driver the service's pools use in tests (default: the service's default).
DB_DRIVER = os.environ.get("TICKETLAB_TEST_DB_DRIVER", "")
# Every vhost this test process makes starts so, so ``tests/support/vhosts.py`` can tell
# ours from those of other test runs sharing the broker.
VHOST_PREFIX = f"tl_{os.getpid()}_"


def rabbitmqctl(*args: str) -> str:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    done = subprocess.run([exe, "-q", *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Isolation:
    """The names one test module owns; ``settings()`` builds Settings pointing at them."""

    token: str

    @property
    def database(self) -> str:
        return f"tl_{self.token}"

    @property
    def vhost(self) -> str:
        return f"{VHOST_PREFIX}{self.token}"

    def settings(self, **overrides: Any) -> Settings:
        admin = ADMIN_URL.rsplit("/", 1)[0]
        values: dict[str, Any] = {
            "db_url": f"mysql://u_{self.token}:pw_{self.token}@127.0.0.1:3306/{self.database}",
            "db_admin_url": f"{admin}/{self.database}",
            "redis_url": REDIS_URL,
            "amqp_url": AMQP_BASE.rstrip("/") + "/" + quote(self.vhost, safe=""),
            "key_prefix": f"t{self.token}",
            "sweeper_interval_s": 0.5,
            **({"db_driver": DB_DRIVER} if DB_DRIVER else {}),
            **NO_CLIENT_RATE_LIMITS,  # every test client is 127.0.0.1
        }
        values.update(overrides)
        return Settings(**values)

    def create(self) -> Settings:
        settings = self.settings()
        schema.migrate(settings)
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, AMQP_USER, ".*", ".*", ".*")
        return settings

    def destroy(self) -> None:
        """Each resource is removed even if removing another failed (a test dropped it)."""
        settings = self.settings()
        try:
            schema.drop_database(settings)
        finally:
            with contextlib.suppress(RuntimeError):
                rabbitmqctl("delete_vhost", self.vhost)
            client = redis.Redis.from_url(REDIS_URL)
            try:
                keys = list(client.scan_iter(match=f"{settings.key_prefix}:*", count=1000))
                if keys:
                    client.delete(*keys)
            finally:
                client.close()


def new_isolation() -> Isolation:
    return Isolation(secrets.token_hex(4))


def fresh_vhost() -> str:
    """A fresh vhost name for a lab stack a test starts (the lab creates and purges it)."""
    return f"{VHOST_PREFIX}{secrets.token_hex(4)}"
