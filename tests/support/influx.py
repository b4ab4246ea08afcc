"""A real InfluxDB 1.x for tests: a private ``influxd`` in a temporary lab directory.

It is started through the lab's own stack module (the config file the lab writes, on free
loopback ports), so the tests exercise what ``ticketlab up`` runs. Where the Debian package
``influxdb`` is missing the tests that need it are skipped, saying so; ``.ci/run`` installs
it, so in CI they run.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboards.influx import drop_database, ensure_database
from scenarios.stack import influxdb, processes
from scenarios.stack.binaries import find_binary
from scenarios.stack.paths import LabPaths
from tests.support.processes import free_port


@dataclass(frozen=True)
class Influx:
    url: str
    paths: LabPaths
    pid: int


@contextmanager
def influx_server(lab_dir: Path) -> Iterator[Influx]:
    """``influxd`` until the block ends; skips the calling test when it is not installed."""
    binary = find_binary("influxd")
    if binary is None:
        pytest.skip("influxd is not installed (Debian package influxdb; .ci/run installs it)")
    paths = LabPaths.at(lab_dir)
    http_port = free_port()
    record = influxdb.start(paths, binary, http_port, free_port())
    try:
        influxdb.wait_ready(paths, record, http_port)
        yield Influx(influxdb.url_for(http_port), paths, record.pid)
    finally:
        processes.stop_part(paths, influxdb.PART)


@contextmanager
def influx_database(url: str) -> Iterator[str]:
    """A database of its own, dropped afterwards."""
    name = f"t_{secrets.token_hex(4)}"
    ensure_database(url, name)
    try:
        yield name
    finally:
        drop_database(url, name)
