"""RabbitMQ: the machine's broker with the lab's own vhost, or one the lab starts.

A broker is heavy (an Erlang VM, ~5 s to boot), and this kind of machine already runs
one, so the lab borrows it and isolates itself with a vhost rather than starting another.
Only when nothing answers at the URL, on loopback, does it run ``rabbitmq-server``.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from scenarios.stack.errors import StackError
from scenarios.stack.net import choose_port, port_answers, wait_for
from scenarios.stack.processes import log_tail

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


def node_name(broker: Broker) -> str:
    """The node the lab starts: not ``rabbit@…``, so it never collides with the machine's."""
    return f"ticketlab{broker.port}@localhost"


def rabbitmqctl(ctl: str, *args: str, node: str | None = None, timeout: float = 60.0) -> str:
    argv = [ctl, "-q", *(["-n", node] if node else []), *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise StackError(f"rabbitmqctl {' '.join(args)} failed: {detail}")
    return done.stdout


def ensure_vhost(ctl: str, broker: Broker, vhost: str, node: str | None = None) -> None:
    """Create the vhost and grant the URL's user everything on it; both are idempotent."""
    rabbitmqctl(ctl, "add_vhost", vhost, node=node)
    rabbitmqctl(ctl, "set_permissions", "-p", vhost, broker.user, ".*", ".*", ".*", node=node)


def delete_vhost(ctl: str, vhost: str, node: str | None = None) -> None:
    rabbitmqctl(ctl, "delete_vhost", vhost, node=node)


def server_config(broker: Broker) -> str:
    """The node's own config: the system file pins ``listeners.tcp`` to 5672, which is taken."""
    return f"listeners.tcp.default = 127.0.0.1:{broker.port}\nloopback_users.guest = true\n"


def write_server_config(broker: Broker, folder: Path) -> Path:
    """Config, data and logs in one folder the ``rabbitmq`` user can use: the Debian wrapper
    drops to that user, and the lab directory itself may be private to ours."""
    for sub in (folder, folder / "mnesia", folder / "log"):
        sub.mkdir(parents=True, exist_ok=True)
        sub.chmod(0o755)
    owner = broker_user()
    if owner is not None:
        for sub in (folder / "mnesia", folder / "log"):
            os.chown(sub, *owner)
    path = folder / "rabbitmq.conf"
    path.write_text(server_config(broker))
    path.chmod(0o644)
    return path


def broker_user() -> tuple[int, int] | None:
    """The ``rabbitmq`` account's uid and gid when we are root (the wrapper runs as it)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("rabbitmq")
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def server_env(broker: Broker, config: Path) -> dict[str, str]:
    """A node of its own on the URL's port, with a distribution port that is free."""
    return {
        "RABBITMQ_NODENAME": node_name(broker),
        "RABBITMQ_CONFIG_FILE": str(config),
        "RABBITMQ_MNESIA_BASE": str(config.parent / "mnesia"),
        "RABBITMQ_LOG_BASE": str(config.parent / "log"),
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(broker.port),
        "RABBITMQ_DIST_PORT": str(dist_port(broker.port)),
    }


def dist_port(amqp_port: int) -> int:
    """RabbitMQ's own choice (AMQP port + 20000) when that is a free port, else any free one."""
    return choose_port([amqp_port + 20000 if amqp_port + 20000 <= 65535 else None])


def start_server(server: str, ctl: str, broker: Broker, config_dir: Path) -> int:
    """Start a broker on the URL's port, wait until it accepts vhost commands; its pid."""
    node = node_name(broker)
    config = write_server_config(broker, config_dir)
    done = subprocess.run(
        [server, "-detached"],
        env={**os.environ, **server_env(broker, config)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise StackError(f"rabbitmq-server -detached failed: {done.stderr.strip()}")

    def ready() -> int | None:
        if not broker.answers():
            return None
        try:
            out = rabbitmqctl(ctl, "eval", "list_to_integer(os:getpid()).", node=node, timeout=15)
        except (StackError, subprocess.TimeoutExpired):
            return None  # the port opens before the node accepts commands: retry
        return int(out.strip())

    try:
        return wait_for(ready, timeout=START_TIMEOUT_S, what=f"RabbitMQ node {node}", interval=0.5)
    except StackError as exc:
        log = config.parent / "log" / f"{node}.log"
        raise StackError(f"{exc}; {log}:\n{log_tail(log)}") from None


def stop_server(ctl: str, node: str) -> None:
    rabbitmqctl(ctl, "stop", node=node, timeout=60)
