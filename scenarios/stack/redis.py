"""The lab's Redis: a private ``redis-server`` with no persistence, or the given URL.

Persistence is off because every run starts from a reset database and an empty cache;
an RDB save in the middle of a load test would only add latency spikes to explain.
"""

from __future__ import annotations

import redis as redis_client

from scenarios.stack import processes
from scenarios.stack.errors import StackError
from scenarios.stack.net import LOOPBACK, wait_for
from scenarios.stack.paths import LabPaths

PART = "redis"
READY_TIMEOUT_S = 15.0


def url_for(port: int) -> str:
    return f"redis://{LOOPBACK}:{port}/0"


def server_args(paths: LabPaths, port: int) -> list[str]:
    return [
        "--port", str(port),
        "--bind", LOOPBACK,
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--dir", str(paths.data_dir(PART)),
        "--logfile", "",  # to stdout, which the lab sends to its log file
        "--maxclients", "10000",
    ]  # fmt: skip


def answers(url: str) -> bool:
    client = redis_client.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0)
    try:
        return bool(client.ping())
    except redis_client.RedisError:
        return False
    finally:
        client.close()


def start(paths: LabPaths, port: int, binary: str) -> processes.PidRecord:
    paths.data_dir(PART).mkdir(parents=True, exist_ok=True)
    return processes.spawn(paths, PART, [binary, *server_args(paths, port)])


def wait_ready(paths: LabPaths, record: processes.PidRecord, port: int) -> None:
    def died() -> str | None:
        if record.is_running():
            return None
        log = paths.log_file(PART)
        return f"redis-server exited; {log}:\n{processes.log_tail(log)}"

    url = url_for(port)
    wait_for(
        lambda: True if answers(url) else None,
        timeout=READY_TIMEOUT_S,
        what=f"Redis on port {port}",
        failed=died,
    )


def check_external(url: str) -> None:
    if not answers(url):
        raise StackError(f"TICKETLAB_REDIS_URL={url} does not answer PING")
