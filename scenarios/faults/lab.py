"""The fault proxy as a lab process, and the connections the lab routes through it.

A link is one kind of connection the lab can put the proxy in front of:

    primary      the service → the primary MariaDB   (``TICKETLAB_DB_URL``)
    replica      the service → the replica           (``TICKETLAB_REPLICA_URL``)
    redis        the service → Redis                 (``TICKETLAB_REDIS_URL``)
    rabbitmq     the service → RabbitMQ              (``TICKETLAB_AMQP_URL``)
    replication  the replica's IO thread → the primary (CHANGE MASTER TO … MASTER_PORT)

Only the links a scenario's faults name are routed; the rest stay direct, so a run without
network faults pays nothing. The lab's own admin connections (reset, checks, heartbeat)
always go direct: the proxy is in front of the system under test, not the referee.
The proxy is recorded in the lab's pid files like every other child, so ``ticketlab down``
stops one a killed run left behind.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from scenarios.faults.client import ProxyApiError, ToxiproxyClient, listen_port
from scenarios.stack import processes
from scenarios.stack.errors import StackError
from scenarios.stack.net import LOOPBACK, choose_port
from scenarios.stack.paths import LabPaths
from service.config import Settings

PART = "fault-proxy"
SERVICE_LINKS = {
    "primary": "db_url",
    "replica": "replica_url",
    "redis": "redis_url",
    "rabbitmq": "amqp_url",
}
REPLICATION = "replication"
LINKS = (*SERVICE_LINKS, REPLICATION)
READY_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class FaultProxy:
    """A running fault proxy: its API, and the port each routed link listens on."""

    api_url: str
    pid: int
    ports: Mapping[str, int]

    @property
    def client(self) -> ToxiproxyClient:
        return ToxiproxyClient(self.api_url)


def host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


def upstreams(settings: Settings) -> dict[str, str]:
    """Where each link leads, from the (unrouted) settings of a variant."""
    found = {link: host_port(getattr(settings, attr)) for link, attr in SERVICE_LINKS.items()}
    found[REPLICATION] = found["primary"]
    return found


def start(
    paths: LabPaths, links: Iterable[str], targets: Mapping[str, str], part: str = PART
) -> FaultProxy:
    """Start the proxy (stopping a leftover one) with one proxy per link, named after it;
    ``part`` names its pid file (a benchmark's proxy must not replace a run's)."""
    wanted = sorted(set(links))
    unknown = [link for link in wanted if link not in LINKS]
    if unknown:
        raise StackError(f"unknown link(s) {', '.join(unknown)}; known: {', '.join(LINKS)}")
    processes.stop_part(paths, part)
    port = choose_port(())
    argv = [sys.executable, "-m", "scenarios.faults.proxy", "--listen", f"{LOOPBACK}:{port}"]
    paths.log_file(part).unlink(missing_ok=True)
    record = processes.spawn(paths, part, argv)
    client = ToxiproxyClient(f"http://{LOOPBACK}:{port}")
    _wait_ready(client, record, paths.log_file(part))
    ports = {}
    for link in wanted:
        ports[link] = listen_port(client.create(link, targets[link]))
    return FaultProxy(client.url, record.pid, ports)


def _wait_ready(client: ToxiproxyClient, record: processes.PidRecord, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            client.version()
            return
        except (OSError, ProxyApiError):
            if not record.is_running():
                tail = processes.log_tail(log)
                raise StackError(f"the fault proxy exited before it was ready:\n{tail}") from None
            if time.monotonic() >= deadline:
                message = f"the fault proxy did not answer in {READY_TIMEOUT_S:g} s"
                raise StackError(message) from None
            time.sleep(0.05)


def stop(paths: LabPaths, part: str = PART) -> bool:
    return processes.stop_part(paths, part, term_timeout=5.0)


def routed(settings: Settings, proxy: FaultProxy) -> Settings:
    """The settings with each routed service link pointing at its proxy instead."""
    changes = {}
    for link, attr in SERVICE_LINKS.items():
        if link in proxy.ports:
            changes[attr] = with_port(getattr(settings, attr), proxy.ports[link])
    return dataclasses.replace(settings, **changes)


def with_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = (auth + "@" if auth else "") + f"{LOOPBACK}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
