"""RabbitMQ: the machine's broker with the lab's own vhost, or one the lab starts.

A broker is heavy (an Erlang VM, ~5 s to boot), and this kind of machine already runs
one, so the lab borrows it and isolates itself with a vhost rather than starting another.
Only when nothing answers at the URL, on loopback, does it run ``rabbitmq-server``.

The vhost is named after the lab directory (``ticketlab-<hash of its path>``), so two
clones on one machine never share queues, unless ``TICKETLAB_AMQP_URL`` names one. A run's
queues and exchanges carry its key prefix, and ``delete_prefixed`` removes them at its end:
the vhost outlives runs, their messages do not.
"""

from __future__ import annotations

import asyncio
import hashlib
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
VHOST_PREFIX = "ticketlab-"
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
    vhost: str | None = None  # named in the URL's path; None: the lab chooses

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
            vhost=unquote(parts.path[1:]) if parts.path not in ("", "/") else None,
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


def lab_vhost(lab_root: Path) -> str:
    """The vhost of one lab directory: stable across runs, distinct between clones."""
    return VHOST_PREFIX + hashlib.sha1(str(lab_root).encode()).hexdigest()[:12]


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


def vhosts(ctl: str, node: str | None = None) -> list[str]:
    return rabbitmqctl(ctl, "-s", "list_vhosts", node=node).splitlines()


def ensure_vhost(ctl: str, broker: Broker, vhost: str, node: str | None = None) -> bool:
    """Create the vhost and grant the URL's user everything on it; True if it was created.

    Both steps are idempotent; the answer tells ``down --purge`` whether the vhost is the
    lab's to delete (one named in ``TICKETLAB_AMQP_URL`` that existed already is not).
    """
    existed = vhost in vhosts(ctl, node)
    if not existed:
        rabbitmqctl(ctl, "add_vhost", vhost, node=node)
    rabbitmqctl(ctl, "set_permissions", "-p", vhost, broker.user, ".*", ".*", ".*", node=node)
    return not existed


def delete_vhost(ctl: str, vhost: str, node: str | None = None) -> None:
    rabbitmqctl(ctl, "delete_vhost", vhost, node=node)


def prefixed_names(
    ctl: str, vhost: str, prefix: str, node: str | None = None
) -> dict[str, list[str]]:
    """The queues and exchanges of ``vhost`` whose names start with ``prefix``."""
    found = {}
    for kind in ("queues", "exchanges"):
        names = rabbitmqctl(ctl, "-s", f"list_{kind}", "-p", vhost, "name", node=node)
        found[kind] = sorted(n for n in names.splitlines() if n.startswith(prefix))
    return found


def delete_prefixed(ctl: str, url: str, prefix: str, node: str | None = None) -> list[str]:
    """Delete every queue and exchange whose name starts with ``prefix`` (a run's token
    begins the key prefix of each of its variants); the names deleted.

    Listing needs ``rabbitmqctl``; deleting goes over AMQP as the URL's user, so it needs
    no management plugin and touches nothing outside the URL's vhost.
    """
    if not prefix:
        raise ValueError("an empty prefix would name every queue")
    vhost = Broker.parse(url).vhost or "/"
    names = prefixed_names(ctl, vhost, prefix, node)
    if not names["queues"] and not names["exchanges"]:
        return []
    asyncio.run(_delete(url, names["queues"], names["exchanges"]))
    return names["queues"] + names["exchanges"]


async def _delete(url: str, queues: list[str], exchanges: list[str]) -> None:
    import aio_pika

    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)


def server_version(url: str) -> str | None:
    """The broker's version from its AMQP greeting (no rabbitmqctl, so a remote one too)."""

    async def ask() -> str | None:
        import aio_pika

        connection = await aio_pika.connect(url, timeout=5)
        async with connection:
            properties = connection.transport.connection.server_properties
            version = properties.get("version")
            return version.decode() if isinstance(version, bytes) else version

    try:
        return asyncio.run(ask())
    except Exception:
        return None


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
