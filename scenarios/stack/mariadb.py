"""The lab's MariaDB pair: a primary writing a ROW binlog with GTIDs, and a read-only replica.

Both run from the machine's ``mariadbd`` on data directories in the lab, on loopback ports
of their own, never touching a server the user already runs. ``--no-defaults`` comes first
so no /etc/mysql option file leaks in (a system ``port`` or ``log-bin`` would). The replica
has no binlog: with ``--log-bin`` and strict GTID mode it would break on any local write,
and it never needs to be promoted here. Root has an empty password on loopback (install
``--auth-root-authentication-method=normal``): this is a throwaway lab server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

from scenarios.stack import processes
from scenarios.stack.errors import StackError
from scenarios.stack.net import LOOPBACK, wait_for
from scenarios.stack.paths import LabPaths

PRIMARY, REPLICA = "primary", "replica"
SERVER_IDS = {PRIMARY: 1, REPLICA: 2}
REPL_USER, REPL_PASSWORD = "lab_repl", "lab_repl"
INIT_MARKER = ".ticketlab-initialized"
READY_TIMEOUT_S = 30.0
REPLICATION_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Binaries:
    mariadbd: str
    install_db: str


def running_as_root() -> bool:
    return os.geteuid() == 0


def common_args(paths: LabPaths, part: str, port: int) -> list[str]:
    """Options both servers share; ``--no-defaults`` must be the very first argument."""
    data = paths.data_dir(part)
    args = ["--no-defaults"]
    if running_as_root():
        args.append("--user=root")  # mariadbd refuses to run as root without being told to
    args += [
        f"--datadir={data}",
        f"--port={port}",
        f"--bind-address={LOOPBACK}",
        f"--socket={paths.socket(part)}",
        f"--pid-file={data / 'mariadbd.pid'}",
        f"--log-error={paths.log_file(part)}",
        f"--server-id={SERVER_IDS[part]}",
        f"--tmpdir={tmp_dir(paths, part)}",
        "--skip-name-resolve",
        "--max-connections=1000",
        "--innodb-buffer-pool-size=256M",
        "--innodb-log-file-size=16M",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_unicode_ci",
    ]
    return args


def primary_args(paths: LabPaths, port: int) -> list[str]:
    return [
        *common_args(paths, PRIMARY, port),
        "--log-bin=binlog",
        "--binlog-format=ROW",
        "--gtid-strict-mode=1",
        "--gtid-domain-id=0",
    ]


def replica_args(paths: LabPaths, port: int) -> list[str]:
    return [
        *common_args(paths, REPLICA, port),
        "--read-only=1",
        "--relay-log=relay-bin",
        # The primary's port may differ from the last run's: repoint before replicating.
        "--skip-slave-start",
    ]


def server_args(paths: LabPaths, part: str, port: int) -> list[str]:
    return primary_args(paths, port) if part == PRIMARY else replica_args(paths, port)


def tmp_dir(paths: LabPaths, part: str) -> Path:
    """A private tmpdir: bootstraps sharing /tmp were seen to lose their temporary tables."""
    return paths.root / "tmp" / part


def install_args(binaries: Binaries, data: Path, tmp: Path) -> list[str]:
    args = [binaries.install_db, "--no-defaults", f"--datadir={data}", f"--tmpdir={tmp}"]
    if running_as_root():
        args.append("--user=root")
    return [
        *args,
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        "--skip-name-resolve",
        "--innodb-log-file-size=16M",
    ]


def ensure_data_dir(paths: LabPaths, part: str, binaries: Binaries) -> bool:
    """Initialise the data directory once; a half-initialised one (killed run) is redone.

    One retry: the bootstrap was seen to fail now and then ("Unknown table
    'mysql.tmp_user_sys'") while other servers were being set up on the machine.
    """
    data = paths.data_dir(part)
    if (data / INIT_MARKER).exists():
        return False
    log = paths.log_file(f"{part}-install")
    log.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir(paths, part).mkdir(parents=True, exist_ok=True)
    for attempt in (1, 2):
        shutil.rmtree(data, ignore_errors=True)
        data.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            out.write(f"-- mariadb-install-db, attempt {attempt}\n".encode())
            out.flush()
            done = subprocess.run(
                install_args(binaries, data, tmp_dir(paths, part)),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=120,
            )
        if done.returncode == 0:
            (data / INIT_MARKER).write_text("")
            return True
    raise StackError(
        f"mariadb-install-db failed for the {part} (exit {done.returncode}); "
        f"{log}:\n{processes.log_tail(log)}"
    )


def connect(port: int, *, timeout: float = 2.0, **kwargs: Any) -> pymysql.connections.Connection:
    """Root on loopback TCP (empty password), autocommit: the lab's admin connection.

    Reads are bounded too: ``connect_timeout`` covers only the TCP connect, and something
    that accepts but never greets (a busy port's squatter, a hung server) would block forever.
    """
    options: dict[str, Any] = {"read_timeout": 10.0, "write_timeout": 10.0, **kwargs}
    return pymysql.connect(
        host=LOOPBACK,
        port=port,
        user="root",
        password="",
        connect_timeout=timeout,
        autocommit=True,
        **options,
    )


def answers(port: int) -> bool:
    try:
        with connect(port, timeout=1.0, read_timeout=1.0, write_timeout=1.0) as conn:
            conn.ping()
        return True
    except pymysql.MySQLError:
        return False


def start(paths: LabPaths, part: str, port: int, binaries: Binaries) -> processes.PidRecord:
    paths.make()
    tmp_dir(paths, part).mkdir(parents=True, exist_ok=True)
    return processes.spawn(paths, part, [binaries.mariadbd, *server_args(paths, part, port)])


def wait_ready(paths: LabPaths, part: str, record: processes.PidRecord, port: int) -> None:
    """Poll until root can connect; fail fast with the error log's tail if the server died."""

    def died() -> str | None:
        if record.is_running():
            return None
        log = paths.log_file(part)
        return f"mariadbd exited; {log}:\n{processes.log_tail(log)}"

    def ready() -> bool | None:
        return True if answers(port) else None

    try:
        wait_for(ready, timeout=READY_TIMEOUT_S, what=f"MariaDB {part} on port {port}", failed=died)
    except StackError as exc:
        if "not ready" in str(exc):
            tail = processes.log_tail(paths.log_file(part))
            raise StackError(f"{exc}; {paths.log_file(part)}:\n{tail}") from None
        raise


def create_replication_user(primary_port: int) -> None:
    with connect(primary_port) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s",
            (REPL_USER, LOOPBACK, REPL_PASSWORD),
        )
        cur.execute("GRANT REPLICATION SLAVE ON *.* TO %s@%s", (REPL_USER, LOOPBACK))


def slave_status(replica_port: int) -> dict[str, Any] | None:
    """SHOW SLAVE STATUS as a dict, or None when replication was never configured."""
    with connect(replica_port) as conn, conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute("SHOW SLAVE STATUS")
        row = cur.fetchone()
    return dict(row) if row else None


def replicating_from(status: dict[str, Any] | None, primary_port: int) -> bool:
    return bool(
        status
        and int(status.get("Master_Port") or 0) == primary_port
        and status.get("Slave_IO_Running") == "Yes"
        and status.get("Slave_SQL_Running") == "Yes"
    )


def point_replica(replica_port: int, primary_port: int) -> None:
    """(Re)point the replica at the primary by GTID and start it; a no-op when already so.

    ``slave_pos`` resumes from the GTIDs this replica has applied, so a restart never
    replays or skips a transaction; a fresh replica starts from the primary's first binlog.
    """
    if replicating_from(slave_status(replica_port), primary_port):
        return
    with connect(replica_port) as conn, conn.cursor() as cur:
        cur.execute("STOP SLAVE")
        cur.execute(
            "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s,"
            " MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1",
            (LOOPBACK, primary_port, REPL_USER, REPL_PASSWORD),
        )
        cur.execute("START SLAVE")
    wait_replicating(replica_port, primary_port)


def wait_replicating(replica_port: int, primary_port: int) -> None:
    last: dict[str, Any] = {}

    def probe() -> bool | None:
        status = slave_status(replica_port) or {}
        last.update(status)
        return True if replicating_from(status, primary_port) else None

    def broken() -> str | None:
        error = last.get("Last_IO_Error") or last.get("Last_SQL_Error")
        if last.get("Slave_SQL_Running") == "No" and last.get("Last_SQL_Error"):
            return f"replication SQL thread stopped: {error}"
        return None

    try:
        wait_for(probe, timeout=REPLICATION_TIMEOUT_S, what="replica catching on", failed=broken)
    except StackError as exc:
        detail = last.get("Last_IO_Error") or last.get("Last_SQL_Error") or "no error reported"
        raise StackError(f"{exc} (IO={last.get('Slave_IO_Running')}, {detail})") from None


def primary_gtid(primary_port: int) -> str:
    with connect(primary_port) as conn, conn.cursor() as cur:
        cur.execute("SELECT @@GLOBAL.gtid_binlog_pos")
        return str(cur.fetchone()[0])


def wait_caught_up(replica_port: int, primary_port: int, timeout: float = 30.0) -> None:
    """Block until the replica has applied everything the primary has logged so far."""
    position = primary_gtid(primary_port)
    if not position:
        return
    conn = connect(replica_port, timeout=timeout, read_timeout=timeout + 5)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)", (position, timeout))
        result = cur.fetchone()[0]
    if result != 0:
        raise StackError(f"replica did not reach the primary's GTID {position} in {timeout:g} s")
