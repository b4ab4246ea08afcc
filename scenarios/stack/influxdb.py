"""The lab's InfluxDB 1.x: a private ``influxd`` that a run streams its numbers into.

It is optional. Grafana dashboards (``dashboards/``) read it, but nothing a run decides
depends on it, so when the Debian package ``influxdb`` is missing the stack simply has no
such part and a run says so and goes on. When it is installed it runs from a config file
the lab writes (``.lab/influxdb.conf``), because the package's defaults are wrong for a lab:
its HTTP API binds every interface and its RPC port (backup/restore) is a fixed 8088 that
two labs on one machine would fight over; both go to loopback ports of the lab's own. Data,
meta and WAL live under ``.lab/data/influxdb``, usage reporting and the ``_internal``
monitor database are off (a load test should not write about itself), and the per-request
HTTP log is off, since one write a second per stream would drown the log that matters.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from scenarios.stack import processes
from scenarios.stack.net import LOOPBACK, choose_port, wait_for
from scenarios.stack.paths import LabPaths
from scenarios.stack.state import PartRecord

PART = "influxdb"
DEFAULT_HTTP_PORT = 8186
DEFAULT_RPC_PORT = 8188
READY_TIMEOUT_S = 30.0
CONFIG_NAME = "influxdb.conf"


def url_for(port: int) -> str:
    return f"http://{LOOPBACK}:{port}"


def config_path(paths: LabPaths) -> Path:
    return paths.root / CONFIG_NAME


def config_text(data: Path, http_port: int, rpc_port: int) -> str:
    """The whole configuration: every default that matters here is stated, not inherited."""
    return f"""\
# Written by ticketlab (scenarios/stack/influxdb.py) at every start; edits are overwritten.
reporting-enabled = false
bind-address = "{LOOPBACK}:{rpc_port}"

[meta]
  dir = "{data / "meta"}"

[data]
  dir = "{data / "data"}"
  wal-dir = "{data / "wal"}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{LOOPBACK}:{http_port}"
  log-enabled = false
  auth-enabled = false

[logging]
  level = "warn"

[continuous_queries]
  log-enabled = false
"""


def answers(url: str, timeout: float = 1.0) -> bool:
    """``/ping`` answers 204 once the HTTP API serves."""
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=timeout) as answer:
            return answer.status == 204
    except (urllib.error.URLError, OSError):
        return False


def version(url: str, timeout: float = 1.0) -> str | None:
    """The server's version, from the ``X-Influxdb-Version`` header of ``/ping``."""
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=timeout) as answer:
            return answer.headers.get("X-Influxdb-Version")
    except (urllib.error.URLError, OSError):
        return None


def start(paths: LabPaths, binary: str, http_port: int, rpc_port: int) -> processes.PidRecord:
    data = paths.data_dir(PART)
    data.mkdir(parents=True, exist_ok=True)
    config = config_path(paths)
    config.write_text(config_text(data, http_port, rpc_port))
    return processes.spawn(paths, PART, [binary, "-config", str(config)])


def wait_ready(paths: LabPaths, record: processes.PidRecord, port: int) -> None:
    def died() -> str | None:
        if record.is_running():
            return None
        log = paths.log_file(PART)
        return f"influxd exited; {log}:\n{processes.log_tail(log)}"

    url = url_for(port)
    wait_for(
        lambda: True if answers(url) else None,
        timeout=READY_TIMEOUT_S,
        what=f"InfluxDB on port {port}",
        failed=died,
    )


def ensure(
    paths: LabPaths, previous: PartRecord | None, binary: str, taken: Iterable[int] = ()
) -> tuple[PartRecord, bool]:
    """The running InfluxDB (kept on its ports) or a fresh one; True when this call started it.

    Ports are last run's when free, else the defaults, else any: the URL a dashboard was
    pointed at stays valid across ``down``/``up`` whenever it can.
    """
    running = processes.running(paths, PART)
    known = previous is not None and previous.port is not None
    if running is not None and known and answers(previous.url):
        return previous, False
    if running is not None:
        processes.stop_part(paths, PART)  # alive but lost or deaf: restart it
    taken = set(taken)
    old_rpc = int(previous.extra.get("rpc_port", 0)) if previous else 0
    http_port = choose_port([previous.port if previous else None, DEFAULT_HTTP_PORT], taken)
    rpc_port = choose_port([old_rpc or None, DEFAULT_RPC_PORT], {*taken, http_port})
    record = start(paths, binary, http_port, rpc_port)
    try:
        wait_ready(paths, record, http_port)
    except BaseException:
        processes.stop_part(paths, PART)
        raise
    part = PartRecord(PART, url_for(http_port), http_port, record.pid, extra={"rpc_port": rpc_port})
    return part, True


def status_detail(url: str) -> dict[str, str]:
    found = version(url)
    return {"version": found} if found else {}
