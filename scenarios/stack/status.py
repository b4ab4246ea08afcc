"""``ticketlab status``: one line a part, alive by its pid file and answering on its port.

Replication facts (the primary's GTID position, the replica's lag and threads, the lag as
pt-heartbeat measures it) ride in ``detail`` so the table shows why a replica is unhealthy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scenarios.stack import influxdb, mariadb, processes, rabbitmq, redis
from scenarios.stack.info import INFLUXDB, PRIMARY, REDIS, REPLICA
from scenarios.stack.net import LOOPBACK
from scenarios.stack.paths import LabPaths
from scenarios.stack.state import LabState, PartRecord


@dataclass(frozen=True)
class PartStatus:
    """One line of ``ticketlab status``; ``detail`` carries part-specific facts (replica lag)."""

    name: str
    owned: bool
    url: str
    pid: int | None
    pid_alive: bool
    port: int | None
    answering: bool
    detail: dict[str, str] = field(default_factory=dict)
    threads: int | None = None  # of the process and its group (a supervisor's workers too)

    @property
    def healthy(self) -> bool:
        alive = self.pid_alive or not self.owned or self.pid is None
        replicating = self.detail.get("Slave_IO_Running", "Yes") == "Yes" and (
            self.detail.get("Slave_SQL_Running", "Yes") == "Yes"
        )
        return alive and self.answering and replicating


def part_status(paths: LabPaths, record: PartRecord) -> PartStatus:
    pid_record = processes.read_pid_file(paths.pid_file(record.name))
    pid = pid_record.pid if pid_record else record.pid
    alive = bool(pid_record and pid_record.is_running())
    detail: dict[str, str] = {}
    if record.name in (PRIMARY, REPLICA):
        answering = record.port is not None and mariadb.answers(record.port)
        if answering and record.port is not None:
            detail = database_detail(record.name, record.port)
    elif record.name == REDIS:
        answering = redis.answers(record.url)
    elif record.name == INFLUXDB:
        answering = influxdb.answers(record.url)
        detail = influxdb.status_detail(record.url) if answering else {}
    else:
        answering = rabbitmq.Broker.parse(record.url).answers()
        if record.extra.get("vhost"):
            detail["vhost"] = str(record.extra["vhost"])
    threads = processes.thread_count(pid) if alive and pid is not None else None
    return PartStatus(
        *(record.name, record.owned, record.url, pid, alive, record.port, answering),
        detail=detail,
        threads=threads,
    )


def process_status(part: str, record: processes.PidRecord | None) -> PartStatus:
    """A process the lab started that is not a server (the apps of ``up --app``, or a
    leftover): alive by its pid file, answering if it serves HTTP on its ``--port``."""
    alive = record is not None and record.is_running()
    pid = record.pid if record else None
    threads = processes.thread_count(pid) if alive and pid is not None else None
    argv = list(record.argv) if record else []
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv[:-1] else None
    if port is None:
        return PartStatus(part, True, "(leftover)", pid, alive, None, False, threads=threads)
    url = f"http://{LOOPBACK}:{port}"
    answering = alive and http_ready(url)
    return PartStatus(part, True, url, pid, alive, port, answering, threads=threads)


def http_ready(url: str) -> bool:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def add_heartbeat_lag(parts: list[PartStatus], state: LabState) -> None:
    """The replica's lag measured as pt-heartbeat does (a fresh stamp on the primary, timed
    until the replica has it), beside the Seconds_Behind_Master it reports itself."""
    from scenarios.faults.heartbeat import probe_lag

    primary = state.parts.get(PRIMARY)
    for part in parts:
        if part.name == REPLICA and part.answering and part.port and primary and primary.port:
            lag = probe_lag(primary.port, part.port)
            part.detail["heartbeat_lag_s"] = "unreadable" if lag is None else f"{lag:.3f}"


def database_detail(part: str, port: int) -> dict[str, str]:
    """Replication facts for status: the primary's GTID position, the replica's lag and threads."""
    if part == PRIMARY:
        return {"gtid_binlog_pos": mariadb.primary_gtid(port) or "(empty)"}
    status = mariadb.slave_status(port) or {}
    keys = ("Seconds_Behind_Master", "Slave_IO_Running", "Slave_SQL_Running", "Gtid_IO_Pos")
    detail = {key: "NULL" if status.get(key) is None else str(status[key]) for key in keys}
    for key in ("Last_IO_Error", "Last_SQL_Error"):
        if status.get(key):
            detail[key] = str(status[key])
    if not status:
        detail = {"Slave_IO_Running": "not configured", "Slave_SQL_Running": "not configured"}
    return detail
