"""The lab's stack against real servers: replication, read-only replica, idempotent up, down,
and the vhost: recorded across ``down``, a run's queues deleted, removed by ``purge``.

One stack per module in a temporary lab directory (its own ports, data and vhost); the
tests run in file order and the last ones take it down, the fixture makes sure of it.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from scenarios.cli import main
from scenarios.stack import Stack, StackInfo, processes
from scenarios.stack.binaries import find_binary
from scenarios.stack.info import INFLUXDB, PRIMARY, REDIS, REPLICA
from service.config import DatabaseUrl
from tests.support.isolation import AMQP_BASE, fresh_vhost
from tests.support.vhosts import our_vhosts
from tests.support.waiting import wait_until_sync

REPLICATION_BOUND_S = 10.0
pytestmark = pytest.mark.usefixtures("no_vhost_left_behind")


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lab")


@pytest.fixture(scope="module")
def stack(lab_dir: Path) -> Iterator[Stack]:
    lab = Stack(lab_dir, environ={"TICKETLAB_AMQP_URL": AMQP_BASE}, vhost=fresh_vhost())
    try:
        yield lab
    finally:
        lab.down(purge=True)


@pytest.fixture(scope="module")
def info(stack: Stack) -> StackInfo:
    return stack.up()


def connect(url: str) -> pymysql.connections.Connection:
    db = DatabaseUrl.parse(url)
    return pymysql.connect(
        host=db.host,
        port=db.port,
        user=db.user,
        password=db.password,
        database=db.database,
        autocommit=True,
        connect_timeout=5,
    )


def wait_for_replica(info: StackInfo, token: str) -> None:
    """Read the token on the replica as the service user, until seen or the bound is spent."""
    with connect(info.replica_url) as conn, conn.cursor() as cur:

        def seen() -> bool:
            cur.execute("SELECT COUNT(*) FROM lab_probe WHERE token = %s", (token,))
            return cur.fetchone()[0] == 1

        wait_until_sync(seen, REPLICATION_BOUND_S, "the write to reach the replica")


def test_up_starts_every_server_on_its_own_ports(info: StackInfo) -> None:
    optional = {INFLUXDB} if find_binary("influxd") else set()
    assert set(info.started) == {PRIMARY, REPLICA, REDIS, *optional}
    ports = {info.parts[p].port for p in (PRIMARY, REPLICA, REDIS)}
    assert len(ports) == 3 and 3306 not in ports and 6379 not in ports
    assert info.settings().db.port == info.parts[PRIMARY].port
    assert info.amqp_url.endswith("/" + info.parts["rabbitmq"].extra["vhost"])


def test_a_write_on_the_primary_is_read_on_the_replica(info: StackInfo) -> None:
    token = secrets.token_hex(8)
    with connect(info.db_admin_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS lab_probe (token VARCHAR(32) PRIMARY KEY)")
    with connect(info.db_url) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO lab_probe (token) VALUES (%s)", (token,))
    wait_for_replica(info, token)


def test_the_replica_refuses_a_write_from_the_service_user(info: StackInfo) -> None:
    refused_write = pytest.raises(pymysql.err.OperationalError)
    with connect(info.replica_url) as conn, conn.cursor() as cur, refused_write as refused:
        cur.execute("INSERT INTO lab_probe (token) VALUES ('local-write')")
    assert refused.value.args[0] == 1290  # ER_OPTION_PREVENTS_STATEMENT: --read-only


def test_status_shows_replication_running(stack: Stack, info: StackInfo) -> None:
    parts = {p.name: p for p in stack.status()}
    assert all(p.healthy for p in parts.values()), parts
    replica = parts[REPLICA].detail
    assert replica["Slave_IO_Running"] == replica["Slave_SQL_Running"] == "Yes"
    assert replica["Seconds_Behind_Master"] == "0"


def test_status_shows_influxdb_where_it_is_installed(stack: Stack, info: StackInfo) -> None:
    if find_binary("influxd") is None:
        assert info.influx_url is None and "TICKETLAB_INFLUX_URL" not in info.env()
        return
    influx = {p.name: p for p in stack.status()}[INFLUXDB]
    assert influx.healthy and influx.detail["version"].startswith("1.")
    assert info.env()["TICKETLAB_INFLUX_URL"] == influx.url == info.influx_url


def test_up_twice_is_idempotent(stack: Stack, info: StackInfo) -> None:
    again = stack.up()
    assert again.already_running
    assert again.env() == info.env()
    assert {n: p.pid for n, p in again.parts.items()} == {n: p.pid for n, p in info.parts.items()}


def test_up_restarts_a_part_that_was_killed(stack: Stack, info: StackInfo) -> None:
    redis_pid = info.parts[REDIS].pid
    assert redis_pid is not None
    os.kill(redis_pid, signal.SIGKILL)
    assert processes.wait_gone(redis_pid, 5.0)
    again = stack.up()
    assert again.started == (REDIS,)
    assert again.redis_url == info.redis_url
    assert again.parts[REDIS].pid != redis_pid


def test_cli_status_and_up_report_the_running_stack(
    lab_dir: Path, info: StackInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lab-dir", str(lab_dir), "status"]) == 0
    assert "Slave_SQL_Running: Yes" in capsys.readouterr().out
    assert main(["--lab-dir", str(lab_dir), "up"]) == 0
    out, err = capsys.readouterr()
    assert "already running" in err
    assert f"export TICKETLAB_DB_URL={info.db_url}" in out.splitlines()
    assert f"export TICKETLAB_AMQP_URL={info.amqp_url}" in out.splitlines()


async def declare(url: str, *names: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        channel = await connection.channel()
        for name in names:
            await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC)
            queue = await channel.declare_queue(name, durable=True)
            await queue.bind(name, "#")
            await channel.default_exchange.publish(aio_pika.Message(b"left"), routing_key=name)


def test_a_runs_queues_and_exchanges_are_deleted_and_no_others(
    stack: Stack, info: StackInfo
) -> None:
    run, other = f"r{secrets.token_hex(3)}", f"r{secrets.token_hex(3)}"
    asyncio.run(declare(info.amqp_url, f"{run}v0:holds:release", f"{run}v1:events", other))
    deleted = stack.delete_run_objects(run)
    assert sorted(deleted) == sorted([f"{run}v0:holds:release", f"{run}v1:events"] * 2)
    assert stack.delete_run_objects(run) == []
    assert stack.delete_run_objects(other) == [other, other]  # a queue and an exchange


def test_the_broker_version_is_read_for_the_manifest(info: StackInfo) -> None:
    version = info.broker_version()["rabbitmq"]
    assert version.count(".") == 2 and version[0].isdigit()


def test_down_leaves_no_process(stack: Stack, lab_dir: Path) -> None:
    pids = [r.pid for _, r in processes.pid_files(stack.paths) if r is not None]
    optional = [INFLUXDB] if find_binary("influxd") else []
    assert len(pids) == 3 + len(optional)
    stopped = stack.down()
    assert sorted(stopped) == sorted([PRIMARY, REPLICA, REDIS, *optional])
    assert not any(Path(f"/proc/{pid}").exists() and processes.is_alive(pid) for pid in pids)
    assert not list(stack.paths.run_dir.glob("*.pid"))
    assert stack.status() == []
    assert main(["--lab-dir", str(lab_dir), "status"]) == 1


def test_down_remembers_the_vhost_so_a_later_purge_removes_it(stack: Stack, lab_dir: Path) -> None:
    assert stack.vhost in our_vhosts()
    assert Stack(lab_dir).vhost == stack.vhost  # recorded, though the stack is down
    assert stack.purge() == f"vhost {stack.vhost} removed"
    assert stack.vhost not in our_vhosts()
    assert not lab_dir.exists()
