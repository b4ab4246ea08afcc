"""RabbitMQ: the machine's broker with the lab's own vhost, or one the lab starts.

A broker is heavy (an Erlang VM, ~5 s to boot), and this kind of machine already runs
one, so the lab borrows it and isolates itself with a vhost rather than starting another.
Only when nothing answers at the URL, on loopback, does it run ``rabbitmq-server``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from scenarios.stack.errors import StackError
from scenarios.stack.net import port_answers, wait_for

PART = "rabbitmq"
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_VHOST = "ticketlab-lab"
START_TIMEOUT_S = 60.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Broker:
    """Where the broker is; ``url_for`` gives the URL of one vhost on it."""

    scheme: str
    user: str
    password: str
    host: str
    port: int

    @classmethod
    def parse(cls, url: str) -> Broker:
        parts = urlsplit(url)
        if parts.scheme not in ("amqp", "amqps"):
            raise StackError(
                f"TICKETLAB_AMQP_URL: expected amqp://user:pass@host:port/, got {url!r}"
            )
        return cls(
            scheme=parts.scheme,
            user=unquote(parts.username or "guest"),
            password=unquote(parts.password or "guest"),
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (5671 if parts.scheme == "amqps" else 5672),
        )

    @property
    def is_local(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def url_for(self, vhost: str) -> str:
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        netloc = f"{auth}@{self.host}:{self.port}"
        return urlunsplit((self.scheme, netloc, "/" + quote(vhost, safe=""), "", ""))

    def answers(self) -> bool:
        return port_answers(self.port, self.host)


def rabbitmqctl(ctl: str, *args: str, timeout: float = 60.0) -> str:
    done = subprocess.run([ctl, "-q", *args], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise StackError(f"rabbitmqctl {' '.join(args)} failed: {detail}")
    return done.stdout


def ensure_vhost(ctl: str, broker: Broker, vhost: str) -> None:
    """Create the vhost and grant the URL's user everything on it; both are idempotent."""
    rabbitmqctl(ctl, "add_vhost", vhost)
    rabbitmqctl(ctl, "set_permissions", "-p", vhost, broker.user, ".*", ".*", ".*")


def delete_vhost(ctl: str, vhost: str) -> None:
    rabbitmqctl(ctl, "delete_vhost", vhost)


def start_server(server: str, ctl: str, broker: Broker) -> int:
    """Start a broker on the URL's port, wait until it accepts vhost commands; its pid."""
    env = {**os.environ, "RABBITMQ_NODE_PORT": str(broker.port)}
    done = subprocess.run(
        [server, "-detached"], env=env, capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise StackError(f"rabbitmq-server -detached failed: {done.stderr.strip()}")

    def ready() -> int | None:
        if not broker.answers():
            return None
        try:
            out = rabbitmqctl(ctl, "eval", "list_to_integer(os:getpid()).", timeout=15)
        except (StackError, subprocess.TimeoutExpired):
            return None  # the port opens before the node accepts commands: retry
        return int(out.strip())

    return wait_for(
        ready, timeout=START_TIMEOUT_S, what=f"RabbitMQ on port {broker.port}", interval=0.5
    )


def stop_server(ctl: str) -> None:
    rabbitmqctl(ctl, "stop", timeout=60)
