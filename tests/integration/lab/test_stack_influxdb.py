"""The lab's InfluxDB part: its own config, loopback only, data in the lab, kept when running."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import psutil
import pytest

from scenarios.stack import influxdb, processes
from scenarios.stack.binaries import find_binary
from scenarios.stack.paths import LabPaths
from scenarios.stack.state import PartRecord


@pytest.fixture(scope="module")
def binary() -> str:
    found = find_binary("influxd")
    if found is None:
        pytest.skip("influxd is not installed (Debian package influxdb; .ci/run installs it)")
    return found


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabPaths]:
    lab = LabPaths.at(tmp_path_factory.mktemp("lab"))
    try:
        yield lab
    finally:
        processes.stop_part(lab, influxdb.PART)


@pytest.fixture(scope="module")
def part(paths: LabPaths, binary: str) -> PartRecord:
    record, started = influxdb.ensure(paths, None, binary)
    assert started
    return record


def listening(pid: int) -> list[tuple[str, int]]:
    sockets = psutil.Process(pid).net_connections(kind="tcp")
    return sorted((c.laddr.ip, c.laddr.port) for c in sockets if c.status == psutil.CONN_LISTEN)


def test_it_listens_on_loopback_only_on_its_two_lab_ports(part: PartRecord) -> None:
    assert part.pid is not None
    found = listening(part.pid)
    assert found == sorted([("127.0.0.1", part.port), ("127.0.0.1", part.extra["rpc_port"])])


def test_its_config_and_data_live_in_the_lab_directory(paths: LabPaths, part: PartRecord) -> None:
    config = influxdb.config_path(paths).read_text()
    assert f'bind-address = "127.0.0.1:{part.port}"' in config
    assert "reporting-enabled = false" in config
    data = paths.data_dir(influxdb.PART)
    assert {p.name for p in data.iterdir()} >= {"meta", "data"}  # wal/ comes with a write


def test_status_detail_names_its_version(part: PartRecord) -> None:
    assert influxdb.status_detail(part.url)["version"].startswith("1.")


def test_ensure_keeps_a_running_server_on_its_ports(
    paths: LabPaths, binary: str, part: PartRecord
) -> None:
    again, started = influxdb.ensure(paths, part, binary)
    assert not started
    assert (again.pid, again.port) == (part.pid, part.port)


def test_ensure_restarts_a_killed_server_on_the_same_ports(
    paths: LabPaths, binary: str, part: PartRecord
) -> None:
    assert part.pid is not None
    os.kill(part.pid, signal.SIGKILL)
    assert processes.wait_gone(part.pid, 5.0)
    again, started = influxdb.ensure(paths, part, binary)
    assert started and again.pid != part.pid
    assert (again.port, again.extra) == (part.port, part.extra)
    assert influxdb.answers(again.url)
