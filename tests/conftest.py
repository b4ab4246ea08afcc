"""Fixtures on the real servers, for the integration and end-to-end tiers.

Each module gets its own database, key prefix and vhost (``tests/support/isolation.py``);
the unit tier refuses them (``tests/unit/conftest.py``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import pytest
import redis.asyncio as aioredis

from service import schema
from service.adapters.db import Database, create_pool
from service.config import Settings
from service.domain.venue import venue_layout
from tests.support.isolation import Isolation, new_isolation
from tests.support.processes import free_port
from tests.support.servers import identity_provider, service_settings, serving
from tests.support.vhosts import no_vhost_left_behind  # noqa: F401  (opt-in, see there)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    """A SIGTERM (a CI timeout, ``kill``) stops the suite the way Ctrl-C does, so fixtures
    tear down: without it the lab's MariaDB pair, vhosts and databases outlive the run."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(scope="module")
def isolation() -> Iterator[Isolation]:
    iso = new_isolation()
    try:
        iso.create()
        yield iso
    finally:
        iso.destroy()


@pytest.fixture(scope="module")
def settings(isolation: Isolation) -> Settings:
    """Settings for this module's private database, key prefix and vhost."""
    return isolation.settings()


@pytest.fixture(scope="module")
def concert_id(settings: Settings) -> int:
    """One concert on a small venue (2 zones × 2 rows × 10 seats), seeded once per module."""
    return schema.seed(
        settings, layout=venue_layout(zones=2, seats_per_row=10, max_rows=2)
    ).concert_ids[0]


@pytest.fixture(scope="module")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(await create_pool(settings.db, settings), settings.db_pool_timeout_s)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture(scope="module")
async def redis_client(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def idp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The lab's identity provider, as a process of its own, for the module."""
    with identity_provider(tmp_path_factory.mktemp("idp")) as url:
        yield url


@pytest.fixture(scope="module")
async def base_url(settings: Settings, idp_url: str, concert_id: int) -> AsyncIterator[str]:
    """The service in the test's event loop, signing in at ``idp_url``; its base URL."""
    port = free_port()
    async with serving(service_settings(settings, idp_url, port), port) as service:
        yield service.url
