"""Process bookkeeping and the stack's pure helpers: leftovers, stale pid files, missing
binaries, port choice, server options. Real processes (``sleep``), no servers needed,
except the one test that proves a MariaDB that cannot start is reported with its log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios.cli import main
from scenarios.stack import LabPaths, MissingBinary, Stack, StackError, mariadb, processes, redis
from scenarios.stack.binaries import find_binary
from scenarios.stack.net import choose_port
from scenarios.stack.rabbitmq import Broker, dist_port, lab_vhost
from scenarios.stack.state import LabState, PartRecord, load_state, save_state
from tests.support.waiting import wait_until_sync


@pytest.fixture
def paths(tmp_path: Path) -> LabPaths:
    lab = LabPaths.at(tmp_path / "lab")
    lab.make()
    return lab


@pytest.fixture
def orphan(paths: LabPaths) -> Iterator[subprocess.Popen[bytes]]:
    """A process a killed run left behind: recorded in a pid file, forgotten by everyone."""
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    processes.adopt(paths, "orphan", child.pid, ["sleep", "300"])
    try:
        yield child
    finally:
        child.kill()
        child.wait(timeout=5)


def test_down_stops_a_leftover_from_a_killed_run(
    paths: LabPaths, orphan: subprocess.Popen[bytes]
) -> None:
    assert [p.name for p in Stack(paths.root).status()] == ["orphan"]
    assert Stack(paths.root).down() == ["orphan"]
    assert orphan.wait(timeout=5) is not None
    assert not paths.pid_file("orphan").exists()


def ignores_sigterm(pid: int) -> bool:
    """SIGTERM's bit in SigIgn is set once the shell has run its trap, not before."""
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:"))[7:], 16)
    return bool(ignored & (1 << (signal.SIGTERM - 1)))


def wait_until_ignoring_sigterm(pid: int) -> None:
    wait_until_sync(lambda: ignores_sigterm(pid), 5, "the shell to ignore SIGTERM", interval=0.01)


def test_stop_escalates_to_sigkill_when_sigterm_is_ignored(paths: LabPaths) -> None:
    stubborn = subprocess.Popen(["sh", "-c", "trap '' TERM; exec sleep 300"])
    try:
        wait_until_ignoring_sigterm(stubborn.pid)
        record = processes.adopt(paths, "stubborn", stubborn.pid)
        assert processes.stop(record, term_timeout=0.3) is True
        assert stubborn.wait(timeout=5) == -9
    finally:
        stubborn.kill()
        stubborn.wait(timeout=5)


def spawn_family(paths: LabPaths, tmp_path: Path, script: str) -> tuple[processes.PidRecord, int]:
    """A spawned shell running ``script`` (which starts a child and writes its pid to
    ``$1``), and the child's pid once the shell has set up its traps."""
    child_file = tmp_path / "child.pid"
    record = processes.spawn(paths, "family", ["sh", "-c", script, "sh", str(child_file)])
    wait_until_sync(
        lambda: child_file.exists() and bool(child_file.read_text().strip()),
        5,
        "the shell to start its child",
        interval=0.01,
    )
    return record, int(child_file.read_text())


def kill_leftovers(*pids: int) -> None:
    for pid in pids:
        if processes.is_alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_stop_kills_a_child_of_a_process_that_ignores_sigterm(
    paths: LabPaths, tmp_path: Path
) -> None:
    # The child inherits the ignored SIGTERM: only SIGKILL to the whole group ends it.
    # Signalling the shell's pid alone would leave ``sleep`` behind, reparented to init.
    record, child = spawn_family(
        paths, tmp_path, "trap '' TERM; sleep 300 & echo $! > \"$1\"; wait"
    )
    try:
        wait_until_ignoring_sigterm(record.pid)
        wait_until_ignoring_sigterm(child)
        assert processes.stop(record, term_timeout=0.3) is True
        assert not processes.is_alive(record.pid)
        assert not processes.is_alive(child)
        assert processes.group_members(record.pid) == []
    finally:
        kill_leftovers(record.pid, child)


def test_stop_terms_the_whole_group_so_children_stop_gracefully(
    paths: LabPaths, tmp_path: Path
) -> None:
    record, child = spawn_family(paths, tmp_path, 'sleep 300 & echo $! > "$1"; wait')
    try:
        assert processes.stop(record, term_timeout=5.0) is False  # no SIGKILL was needed
        assert not processes.is_alive(record.pid)
        assert not processes.is_alive(child)
    finally:
        kill_leftovers(record.pid, child)


def test_an_adopted_process_in_our_group_is_signalled_alone(paths: LabPaths) -> None:
    """A pid that does not lead its group gets no killpg: here the group is pytest's own."""
    loner = subprocess.Popen(["sleep", "300"])
    try:
        assert os.getpgid(loner.pid) == os.getpgid(0)
        record = processes.adopt(paths, "loner", loner.pid)
        assert processes.stop(record, term_timeout=5.0) is False
        assert loner.wait(timeout=5) == -signal.SIGTERM
    finally:
        loner.kill()
        loner.wait(timeout=5)


def test_stale_pid_files_are_removed_without_signalling_anyone(paths: LabPaths) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait(timeout=5)
    paths.pid_file("dead").write_text(f"{dead.pid}\n")
    # Our own pid with another start time: a recycled pid must never be signalled.
    recycled = processes.PidRecord("recycled", os.getpid(), -1)
    processes.write_pid_file(paths, recycled)
    paths.pid_file("garbage").write_text("not a pid\n")
    assert Stack(paths.root).down() == []
    assert list(paths.run_dir.glob("*.pid")) == []


def test_is_alive_treats_a_reaped_child_as_dead(paths: LabPaths) -> None:
    record = processes.spawn(paths, "brief", ["true"])
    assert processes.wait_gone(record.pid, 5.0)
    assert not record.is_running()


def test_a_missing_binary_names_the_debian_package(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    stack = Stack(tmp_path / "lab", environ={}, search_path=str(empty))
    with pytest.raises(MissingBinary) as missing:
        stack.up()
    assert "mariadb-server" in str(missing.value)
    assert "apt-get install mariadb-server" in str(missing.value)
    assert not (tmp_path / "lab" / "run").exists()  # checked before anything started


def test_a_missing_redis_names_its_package(tmp_path: Path) -> None:
    only_mariadb = tmp_path / "bin"
    only_mariadb.mkdir()
    for name in ("mariadbd", "mariadb-install-db"):
        found = find_binary(name)
        assert found is not None
        (only_mariadb / name).symlink_to(found)
    stack = Stack(tmp_path / "lab", environ={}, search_path=str(only_mariadb))
    with pytest.raises(MissingBinary, match="redis-server"):
        stack.up()


def test_given_redis_url_needs_no_redis_binary(tmp_path: Path) -> None:
    # With a given URL the redis-server binary is not required; the missing mariadbd is.
    stack = Stack(tmp_path / "lab", environ={"TICKETLAB_REDIS_URL": "redis://x"}, search_path="")
    with pytest.raises(MissingBinary, match="mariadb-server"):
        stack.up()


def test_a_mariadb_that_cannot_start_is_reported_with_its_log(paths: LabPaths) -> None:
    binaries = mariadb.Binaries(
        mariadbd=find_binary("mariadbd") or "", install_db=find_binary("mariadb-install-db") or ""
    )
    mariadb.ensure_data_dir(paths, mariadb.PRIMARY, binaries)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        record = mariadb.start(paths, mariadb.PRIMARY, port, binaries)
        try:
            with pytest.raises(StackError, match="mariadbd exited") as failed:
                mariadb.wait_ready(paths, mariadb.PRIMARY, record, port)
        finally:
            processes.stop_part(paths, mariadb.PRIMARY)
    assert "Address already in use" in str(failed.value) or "Bind" in str(failed.value)


def test_cli_down_on_an_empty_lab_says_nothing_was_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lab-dir", str(tmp_path / "lab"), "down"]) == 0
    assert "nothing was running" in capsys.readouterr().err
    assert main(["--lab-dir", str(tmp_path / "lab"), "status"]) == 1


# -- pure helpers -------------------------------------------------------------------------


def test_choose_port_prefers_last_run_then_default_then_any() -> None:
    free = {3407, 3408, 5000}.__contains__
    assert choose_port([5000, 3407], is_free=free) == 5000
    assert choose_port([None, 3407], is_free=free) == 3407
    assert choose_port([3407], taken=[3407], is_free=free) not in (3407, 0)
    assert choose_port([3306], is_free=free) != 3306


def test_socket_paths_stay_under_the_unix_limit(tmp_path: Path) -> None:
    deep = LabPaths.at(tmp_path / ("d" * 120))
    assert len(str(deep.socket("replica"))) < 108
    assert str(deep.socket_dir).startswith("/tmp/ticketlab-")
    assert LabPaths.at("/tmp/lab").socket("primary") == Path("/tmp/lab/run/primary.sock")


def test_server_options_put_no_defaults_first_and_split_the_roles(paths: LabPaths) -> None:
    primary = mariadb.server_args(paths, mariadb.PRIMARY, 3407)
    replica = mariadb.server_args(paths, mariadb.REPLICA, 3408)
    assert primary[0] == replica[0] == "--no-defaults"
    assert {"--log-bin=binlog", "--binlog-format=ROW", "--server-id=1"} <= set(primary)
    assert {"--read-only=1", "--server-id=2", "--skip-slave-start"} <= set(replica)
    assert not any(a.startswith("--log-bin") for a in replica)  # strict GTID + local writes
    assert "--bind-address=127.0.0.1" in primary and "--port=3408" in replica
    args = redis.server_args(paths, 6479)
    assert args[args.index("--save") + 1] == "" and "--daemonize" in args


def test_broker_url_carries_the_lab_vhost() -> None:
    broker = Broker.parse("amqp://guest:guest@127.0.0.1:5672/")
    assert broker.url_for("tl lab/1") == "amqp://guest:guest@127.0.0.1:5672/tl%20lab%2F1"
    assert broker.is_local and not Broker.parse("amqp://u:p@mq.example:5672/").is_local
    assert 0 < dist_port(60000) <= 65535  # RabbitMQ's own rule (+20000) would overflow


def test_state_round_trips_and_survives_garbage(paths: LabPaths) -> None:
    state = LabState(
        parts={"redis": PartRecord("redis", "redis://127.0.0.1:6479/0", 6479, 42)},
        urls={"redis_url": "redis://127.0.0.1:6479/0"},
    )
    save_state(paths, state)
    assert load_state(paths) == state
    paths.state_file.write_text("{not json")
    assert load_state(paths) == LabState()


def test_pid_files_accept_a_bare_pid(paths: LabPaths) -> None:
    paths.pid_file("old").write_text("123\n")
    record = processes.read_pid_file(paths.pid_file("old"))
    assert record == processes.PidRecord("old", 123, None)


def test_an_app_process_is_reported_by_the_port_in_its_command_line() -> None:
    from scenarios.stack.status import process_status

    record = processes.PidRecord("app-service", os.getpid(), None, ("python", "--port", "1"))
    status = process_status("app-service", record)
    assert (status.url, status.port, status.pid_alive) == ("http://127.0.0.1:1", 1, True)
    assert not status.answering


def test_a_process_without_a_port_is_a_leftover() -> None:
    from scenarios.stack.status import process_status

    status = process_status("stray", processes.PidRecord("stray", os.getpid(), None, ("sleep",)))
    assert status.url == "(leftover)"


def test_each_lab_directory_has_a_vhost_of_its_own(tmp_path: Path) -> None:
    one, other = Stack(tmp_path / "one", environ={}), Stack(tmp_path / "two", environ={})
    assert one.vhost == lab_vhost(one.paths.root) and one.vhost.startswith("ticketlab-")
    assert one.vhost != other.vhost
    assert Stack(tmp_path / "one", environ={}).vhost == one.vhost  # stable across runs


def test_a_vhost_named_in_the_amqp_url_is_used(tmp_path: Path) -> None:
    url = "amqp://guest:guest@127.0.0.1:5672/team%2Fa"
    assert Stack(tmp_path / "lab", environ={"TICKETLAB_AMQP_URL": url}).vhost == "team/a"
    plain = Stack(tmp_path / "lab", environ={"TICKETLAB_AMQP_URL": url.rsplit("/", 1)[0] + "/"})
    assert plain.vhost == lab_vhost(plain.paths.root)


def test_purge_keeps_a_vhost_the_lab_did_not_create(paths: LabPaths) -> None:
    save_state(paths, LabState(vhost={"name": "theirs", "created": False, "url": "amqp://x/"}))
    assert Stack(paths.root).purge() == "vhost theirs kept: the lab did not create it"
    assert not paths.root.exists()
