"""One lab stack for the end-to-end modules whose runs only need one to be up.

Bringing a lab up (MariaDB primary and replica, Redis, InfluxDB, a vhost) and purging it
again takes 10 to 20 s on a busy machine; the scenario runs and the dashboards' streamed
run share this one. Each run still starts from a fresh database, its own key prefix and
broker names (``scenarios/runner.py``), so they do not see each other. Modules that test
the lab's own bring-up, a killed run or the README's commands keep their own labs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scenarios.stack.info import StackInfo
from scenarios.stack.stack import Stack
from tests.support.isolation import fresh_vhost


@pytest.fixture(scope="session")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    """The stack's info (``lab_dir``, URLs, ``influx_url``); purged at the session's end."""
    stack = Stack(tmp_path_factory.mktemp("lab"), vhost=fresh_vhost())
    try:
        yield stack.up()
    finally:
        stack.down(purge=True)
