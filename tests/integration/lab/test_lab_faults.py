"""Replication lag and server faults against a real primary and replica.

One private stack per module (its own lab directory, ports and vhost), as in
``test_stack_servers.py``. Each injector is switched on, its lag is read the way the lab
reads it (heartbeat, beside Seconds_Behind_Master), and it is switched off again until the
lag clears — so each test leaves the replica as it found it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pymysql
import pytest

from scenarios.faults import heartbeat, processes, replication
from scenarios.faults.kinds import FAULT_KINDS, FaultContext
from scenarios.faults.lab import REPLICATION, FaultProxy
from scenarios.faults.lab import start as start_proxy
from scenarios.faults.lab import stop as stop_proxy
from scenarios.nemesis import FaultLab
from scenarios.stack import Stack, StackInfo, mariadb
from scenarios.stack import processes as lab_processes
from scenarios.stack import redis as lab_redis
from scenarios.stack.info import PRIMARY, REDIS, REPLICA
from scenarios.stack.net import choose_port
from scenarios.stack.paths import LabPaths
from scenarios.stack.state import LabState, PartRecord, load_state, save_state
from tests.support.isolation import AMQP_BASE
from tests.support.waiting import wait_until

LAG_BOUND_S = 20.0


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lab whose state names free ephemeral ports, not the defaults (3407, 3408, 6479):
    these tests stop and restart servers, and a port given up for a moment must not be
    taken by another lab on the machine that prefers the same default."""
    lab = tmp_path_factory.mktemp("lab")
    paths = LabPaths.at(lab)
    state, taken = LabState(), []
    for part in (PRIMARY, REPLICA, REDIS):
        taken.append(choose_port((), taken))
        state.parts[part] = PartRecord(part, "", taken[-1])
    save_state(paths, state)
    return lab


@pytest.fixture(scope="module")
def info(lab_dir: Path) -> Iterator[StackInfo]:
    stack = Stack(
        lab_dir, environ={"TICKETLAB_AMQP_URL": AMQP_BASE}, vhost=f"tl_{secrets.token_hex(4)}"
    )
    try:
        yield stack.up()
    finally:
        stack.down(purge=True)


@pytest.fixture(scope="module")
def ports(info: StackInfo) -> tuple[int, int]:
    primary, replica = info.parts[PRIMARY].port, info.parts[REPLICA].port
    assert primary is not None and replica is not None
    return primary, replica


class Lag:
    """The heartbeat writer and sampler running in the background, as during a run."""

    def __init__(self) -> None:
        self.samples: list[heartbeat.LagSample] = []

    def latest(self) -> heartbeat.LagSample:
        return self.samples[-1]

    async def until(self, condition, what: str) -> heartbeat.LagSample:  # type: ignore[no-untyped-def]
        async def holds() -> bool:
            return bool(self.samples) and condition(self.latest())

        await wait_until(holds, within=LAG_BOUND_S, what=what, interval=0.05)
        return self.latest()


@pytest.fixture
async def lag(ports: tuple[int, int]) -> AsyncIterator[Lag]:
    recorder = Lag()
    task = asyncio.create_task(heartbeat.heartbeat_lag(*ports, recorder.samples.append))
    try:
        yield recorder
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def context(info: StackInfo, ports: tuple[int, int], **extra: object) -> FaultContext:
    return FaultContext(
        psp_url="http://127.0.0.1:1",
        paths=LabPaths.at(info.lab_dir),
        primary_port=ports[0],
        replica_port=ports[1],
        **extra,  # type: ignore[arg-type]
    )


def caught_up(sample: heartbeat.LagSample) -> bool:
    return sample.heartbeat_lag_s is not None and sample.heartbeat_lag_s < 0.5


# -- replication lag, three ways -----------------------------------------------------------


async def test_heartbeat_lag_is_small_on_a_healthy_replica(lag: Lag) -> None:
    sample = await lag.until(caught_up, "a healthy reading")
    assert sample.seconds_behind_master == 0
    assert (sample.io_running, sample.sql_running) == ("Yes", "Yes")


async def test_master_delay_shows_as_lag_in_both_measures_and_clears(
    info: StackInfo, ports: tuple[int, int], lag: Lag
) -> None:
    kind, ctx = FAULT_KINDS["replication-delay"], context(info, ports)
    await lag.until(caught_up, "a healthy start")
    applied = await kind.on(ctx, {"seconds": 2})
    try:
        delayed = await lag.until(
            lambda s: (s.heartbeat_lag_s or 0) >= 2.0, "the heartbeat to fall 2 s behind"
        )
        assert replication.master_delay(ports[1]) == 2
        assert delayed.seconds_behind_master is not None and delayed.seconds_behind_master >= 1
    finally:
        await kind.off(ctx, {"seconds": 2}, applied.state)
    await lag.until(caught_up, "the lag to clear")
    assert replication.master_delay(ports[1]) == 0


async def test_a_stopped_sql_thread_grows_lag_while_seconds_behind_master_reads_null(
    info: StackInfo, ports: tuple[int, int], lag: Lag
) -> None:
    kind, ctx = FAULT_KINDS["replication-sql-stop"], context(info, ports)
    await lag.until(caught_up, "a healthy start")
    applied = await kind.on(ctx, {})
    try:
        stopped = await lag.until(
            lambda s: (s.heartbeat_lag_s or 0) >= 1.5, "the heartbeat to fall behind"
        )
        assert stopped.sql_running == "No"
        assert stopped.seconds_behind_master is None  # NULL: "unknown", not "no lag"
    finally:
        await kind.off(ctx, {}, applied.state)
    cleared = await lag.until(caught_up, "the lag to clear")
    assert cleared.sql_running == "Yes"


async def test_a_slow_replication_link_lags_while_seconds_behind_master_reads_zero(
    info: StackInfo, ports: tuple[int, int], lag: Lag
) -> None:
    paths = LabPaths.at(info.lab_dir)
    proxy = start_proxy(paths, [REPLICATION], {REPLICATION: f"127.0.0.1:{ports[0]}"})
    try:
        replication.point_at(ports[1], proxy.ports[REPLICATION])
        kind, ctx = FAULT_KINDS["replication-link-delay"], context(info, ports, proxy=proxy)
        await lag.until(caught_up, "a healthy start through the proxy")
        applied = await kind.on(ctx, {"latency_ms": 1500})
        try:
            slow = await lag.until(
                lambda s: (s.heartbeat_lag_s or 0) >= 1.5, "the heartbeat to fall behind"
            )
            assert slow.seconds_behind_master == 0  # the SQL thread is idle, so it says 0
            assert (slow.io_running, slow.sql_running) == ("Yes", "Yes")
        finally:
            await kind.off(ctx, {"latency_ms": 1500}, applied.state)
        await lag.until(caught_up, "the lag to clear")
    finally:
        assert replication.restore(ports[1], ports[0]) == ["link through the proxy"]
        stop_proxy(paths)
    assert replication.master_port(ports[1]) == ports[0]


async def test_probe_lag_answers_for_status_without_a_running_writer(
    ports: tuple[int, int],
) -> None:
    lag = await asyncio.to_thread(heartbeat.probe_lag, *ports)
    assert lag is not None and lag < 2.0


# -- the fault lab puts everything back -------------------------------------------------------


def test_closing_the_fault_lab_undoes_replication_faults_left_on(
    info: StackInfo, ports: tuple[int, int]
) -> None:
    replication.set_master_delay(ports[1], 3)
    replication.stop_sql_thread(ports[1])
    faults = FaultLab(LabPaths.at(info.lab_dir), *ports)
    notes = faults.close()
    assert "replication: MASTER_DELAY undone" in notes
    status = replication.slave_status(ports[1])
    assert status["Slave_SQL_Running"] == "Yes" and int(status["SQL_Delay"]) == 0


# -- servers and connections --------------------------------------------------------------------


async def test_stopping_the_lab_redis_takes_it_away_and_off_brings_it_back(
    info: StackInfo, ports: tuple[int, int]
) -> None:
    kind, ctx = FAULT_KINDS["server-stop"], context(info, ports)
    url = info.redis_url
    before = lab_processes.running(ctx.paths, REDIS)
    applied = await kind.on(ctx, {"server": "redis"})
    assert before is not None and not before.is_running()
    assert lab_processes.running(ctx.paths, REDIS) is None
    note = await kind.off(ctx, {"server": "redis"}, applied.state)
    assert lab_redis.answers(url)
    assert "back on port" in (note or "")
    record = load_state(LabPaths.at(info.lab_dir)).parts[REDIS]
    assert record.pid is not None and record.pid != info.parts[REDIS].pid


async def test_a_stopped_replica_restarts_and_replicates_again(
    info: StackInfo, ports: tuple[int, int]
) -> None:
    kind, ctx = FAULT_KINDS["server-stop"], context(info, ports)
    applied = await kind.on(ctx, {"server": "replica"})
    assert lab_processes.running(ctx.paths, REPLICA) is None
    await kind.off(ctx, {"server": "replica"}, applied.state)
    status = replication.wait_connected(ports[1])
    assert int(status["Master_Port"]) == ports[0]


def test_a_server_the_lab_does_not_own_is_refused(info: StackInfo) -> None:
    paths = LabPaths.at(info.lab_dir)
    state = load_state(paths)
    original = state.parts[REDIS]
    state.parts[REDIS] = type(original)(REDIS, "redis://127.0.0.1:6379/0", 6379, None, False)
    save_state(paths, state)
    try:
        with pytest.raises(processes.FaultRefused, match="not its own server"):
            processes.stop_server(paths, REDIS)
    finally:
        state.parts[REDIS] = original
        save_state(paths, state)
    assert lab_redis.answers(info.redis_url)


def test_killing_the_service_users_connections_ends_them_and_spares_others(
    info: StackInfo, ports: tuple[int, int]
) -> None:
    service = info.settings().db
    victim = pymysql.connect(
        host="127.0.0.1",
        port=ports[0],
        user=service.user,
        password=service.password,
        database=service.database,
        autocommit=True,
    )
    bystander = mariadb.connect(ports[0])
    try:
        assert processes.kill_connections(ports[0], service.user) >= 1
        with pytest.raises(pymysql.MySQLError), victim.cursor() as cur:
            cur.execute("SELECT 1")
        with bystander.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
    finally:
        bystander.close()
        victim.close()


def test_the_machines_own_ports_are_never_touched() -> None:
    with pytest.raises(processes.FaultRefused, match="machine's MariaDB"):
        processes.kill_connections(3306, "ticketlab")


def test_a_proxy_that_cannot_start_names_the_problem(info: StackInfo) -> None:
    paths = LabPaths.at(info.lab_dir)
    with pytest.raises(Exception, match="unknown link"):
        start_proxy(paths, ["nowhere"], {})
    assert isinstance(FaultProxy("http://x", 1, {}).client.url, str)
