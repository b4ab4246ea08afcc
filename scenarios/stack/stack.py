"""The lab's local stack as one object: ``Stack(lab_dir).up()``, ``.status()``, ``.down()``.

``up`` is idempotent: parts already running (by their pid files) are kept on their ports,
dead ones are started again, and replication is (re)pointed only when it is not already
running from the right port. If bring-up fails, whatever this call started is stopped again,
so a failed ``up`` leaves the lab as it found it. Everything is recorded under the lab
directory, so ``down`` in another process (or after a killed run) finds and stops it all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scenarios.stack import influxdb, mariadb, processes, rabbitmq, redis
from scenarios.stack.binaries import find_binary, require_binary
from scenarios.stack.errors import MissingBinary, StackError
from scenarios.stack.info import (
    DEFAULT_PORTS,
    INFLUXDB,
    LAB_REDIS_VARIABLE,
    PRIMARY,
    RABBITMQ,
    REDIS,
    REPLICA,
    SERVER_PARTS,
    URL_VARIABLES,
    StackInfo,
    db_urls,
    in_part_order,
)
from scenarios.stack.net import LOOPBACK, choose_port, port_answers
from scenarios.stack.paths import LabPaths
from scenarios.stack.state import LabState, PartRecord, clear_state, load_state, save_state
from scenarios.stack.status import PartStatus, add_heartbeat_lag, part_status, process_status
from service import schema
from service.config import Settings


class Stack:
    """The lab's servers under one lab directory (default ``<project>/.lab``).

    ``environ`` supplies ``TICKETLAB_REDIS_URL`` / ``TICKETLAB_AMQP_URL`` (default: the
    process environment); ``search_path`` replaces the binary lookup (tests use an empty
    one); ``vhost`` names the lab's RabbitMQ vhost. Without it: the one the URL names, else
    the one this lab directory already uses (so a plain ``ticketlab up`` on a lab a test
    created keeps the test's), else one named after the lab directory.
    """

    def __init__(
        self,
        lab_dir: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        search_path: str | None = None,
        vhost: str | None = None,
        migrate: bool = True,
    ) -> None:
        self.paths = LabPaths.at(lab_dir)
        self.environ = os.environ if environ is None else environ
        self.search_path = search_path
        self.vhost = (
            vhost
            or self._broker().vhost
            or recorded_vhost(load_state(self.paths))
            or rabbitmq.lab_vhost(self.paths.root)
        )
        self.migrate = migrate
        self.reaped: list[str] = []  # what ``up`` stopped of a killed run's processes

    def _broker(self) -> rabbitmq.Broker:
        return rabbitmq.Broker.parse(self.environ.get("TICKETLAB_AMQP_URL") or rabbitmq.DEFAULT_URL)

    # -- up -------------------------------------------------------------------------------

    def up(self) -> StackInfo:
        began = time.perf_counter()
        self.reaped = processes.reap_orphans(self.paths)  # a killed run's, before anything
        state = load_state(self.paths)
        plan = self._plan(state)  # every missing binary is reported before anything starts
        self.paths.make()
        remove_stale_pid_files(self.paths)
        started: list[str] = []
        try:
            self._bring_up(state, plan, started)
        except BaseException:
            for part in reversed(started):
                with contextlib.suppress(Exception):
                    self._stop_part(state, part)
            raise
        state.parts = in_part_order(state.parts)
        save_state(self.paths, state)
        return self._info(state, tuple(started), time.perf_counter() - began)

    def _plan(self, state: LabState) -> dict[str, Any]:
        find = self.search_path
        plan: dict[str, Any] = {
            "mariadb": mariadb.Binaries(
                mariadbd=require_binary("mariadbd", find),
                install_db=require_binary("mariadb-install-db", find),
            )
        }
        given_redis = self.environ.get("TICKETLAB_REDIS_URL", "")
        if given_redis and given_redis == self.environ.get(LAB_REDIS_VARIABLE):
            given_redis = ""  # exported by a lab's ``up``: not the user's, start our own
        own_redis = state.parts.get(REDIS)
        if given_redis and not (own_redis and own_redis.owned and own_redis.url == given_redis):
            plan["redis_url"] = given_redis
        else:
            plan["redis-server"] = require_binary("redis-server", find)
        broker = self._broker()
        plan["broker"] = broker
        plan["rabbitmqctl"] = find_binary("rabbitmqctl", find) if broker.is_local else None
        if not broker.answers():
            if not broker.is_local:
                raise StackError(f"no RabbitMQ answers at {broker.host}:{broker.port}")
            plan["rabbitmq-server"] = require_binary("rabbitmq-server", find)
            plan["rabbitmqctl"] = require_binary("rabbitmqctl", find)
        given_influx = self.environ.get("TICKETLAB_INFLUX_URL", "")  # docker compose's, say
        own_influx = state.parts.get(INFLUXDB)
        exported = own_influx and own_influx.owned and own_influx.url == given_influx
        plan["influx_url"] = "" if exported else given_influx  # `eval $(ticketlab up)` sets it
        plan["influxd"] = None if plan["influx_url"] else find_binary("influxd", find)
        return plan

    def _bring_up(self, state: LabState, plan: dict[str, Any], started: list[str]) -> None:
        ports = self._ports(state, plan)
        binaries: mariadb.Binaries = plan["mariadb"]
        to_start = [p for p in (PRIMARY, REPLICA) if processes.running(self.paths, p) is None]
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda p: mariadb.ensure_data_dir(self.paths, p, binaries), to_start))
        records: dict[str, processes.PidRecord] = {}
        for part in to_start:
            records[part] = mariadb.start(self.paths, part, ports[part], binaries)
            started.append(part)
        if "redis-server" in plan and processes.running(self.paths, REDIS) is None:
            records[REDIS] = redis.start(self.paths, ports[REDIS], plan["redis-server"])
            started.append(REDIS)
        self._ensure_broker(state, plan, started)  # overlaps with the servers' boot
        for part in (PRIMARY, REPLICA):
            record = records.get(part) or processes.running(self.paths, part)
            assert record is not None
            mariadb.wait_ready(self.paths, part, record, ports[part])
            state.parts[part] = PartRecord(
                part, f"mysql://{LOOPBACK}:{ports[part]}", ports[part], record.pid
            )
        self._ensure_redis(state, plan, ports, records)
        self._ensure_influxdb(state, plan, ports, started)
        mariadb.create_replication_user(ports[PRIMARY])
        mariadb.point_replica(ports[REPLICA], ports[PRIMARY])
        urls = db_urls(ports[PRIMARY], ports[REPLICA])
        if self.migrate:
            schema.migrate(Settings(db_url=urls["db_url"], db_admin_url=urls["db_admin_url"]))
        # The service user and schema reach the replica by replication: wait for them there.
        mariadb.wait_caught_up(ports[REPLICA], ports[PRIMARY])
        state.urls = {
            **urls,
            "redis_url": state.parts[REDIS].url,
            "amqp_url": state.parts[RABBITMQ].url,
        }
        if INFLUXDB in state.parts:
            state.urls["influx_url"] = state.parts[INFLUXDB].url

    def _ports(self, state: LabState, plan: dict[str, Any]) -> dict[str, int]:
        """Running parts keep their ports; the others get last run's, the default, or any."""
        ports: dict[str, int] = {}
        wanted = [PRIMARY, REPLICA] + ([REDIS] if "redis-server" in plan else [])
        for part in wanted:
            recorded = state.port_of(part)
            if processes.running(self.paths, part) is not None:
                if recorded and port_answers(recorded):
                    ports[part] = recorded
                    continue
                processes.stop_part(self.paths, part)  # alive but lost or deaf: restart it
        for part in wanted:
            if part not in ports:
                taken = ports.values()
                ports[part] = choose_port([state.port_of(part), DEFAULT_PORTS[part]], taken)
        return ports

    def _ensure_redis(
        self,
        state: LabState,
        plan: dict[str, Any],
        ports: dict[str, int],
        records: dict[str, processes.PidRecord],
    ) -> None:
        if "redis_url" in plan:
            redis.check_external(plan["redis_url"])
            state.parts[REDIS] = PartRecord(REDIS, plan["redis_url"], owned=False)
            return
        record = records.get(REDIS) or processes.running(self.paths, REDIS)
        assert record is not None
        redis.wait_ready(self.paths, record, ports[REDIS])
        state.parts[REDIS] = PartRecord(
            REDIS, redis.url_for(ports[REDIS]), ports[REDIS], record.pid
        )

    def _ensure_influxdb(
        self, state: LabState, plan: dict[str, Any], ports: dict[str, int], started: list[str]
    ) -> None:
        if plan["influx_url"]:
            state.parts[INFLUXDB] = PartRecord(INFLUXDB, plan["influx_url"], owned=False)
            return
        if plan["influxd"] is None:
            state.parts.pop(INFLUXDB, None)
            return
        record, fresh = influxdb.ensure(
            self.paths, state.parts.get(INFLUXDB), plan["influxd"], taken=ports.values()
        )
        state.parts[INFLUXDB] = record
        if fresh:
            started.append(INFLUXDB)

    def _ensure_broker(self, state: LabState, plan: dict[str, Any], started: list[str]) -> None:
        broker: rabbitmq.Broker = plan["broker"]
        previous = state.parts.get(RABBITMQ)
        node = str(previous.extra.get("node", "")) if previous and previous.owned else ""
        if "rabbitmq-server" in plan:
            pid = rabbitmq.start_server(
                plan["rabbitmq-server"],
                plan["rabbitmqctl"],
                broker,
                self.paths.shared_dir / RABBITMQ,
            )
            processes.adopt(self.paths, RABBITMQ, pid)
            started.append(RABBITMQ)
            node = rabbitmq.node_name(broker)
        ctl = plan["rabbitmqctl"]
        if ctl:
            created = rabbitmq.ensure_vhost(ctl, broker, self.vhost, node or None)
            url = broker.url_for(self.vhost)
            known = state.vhost.get("name") == self.vhost and state.vhost.get("url") == url
            state.vhost = {
                "name": self.vhost,
                "url": url,
                "node": node,
                "created": created or bool(known and state.vhost.get("created")),
            }
            # Recorded at once: should the rest of ``up`` fail, ``purge`` still finds it.
            recorded = load_state(self.paths)
            recorded.vhost = state.vhost
            save_state(self.paths, recorded)
        else:  # a remote broker: the lab cannot create vhosts there, so use the URL as given
            url = self.environ.get("TICKETLAB_AMQP_URL") or rabbitmq.DEFAULT_URL
        running = processes.running(self.paths, RABBITMQ) if node else None
        state.parts[RABBITMQ] = PartRecord(
            RABBITMQ,
            url,
            broker.port,
            running.pid if running else None,
            owned=bool(node),
            extra={"vhost": self.vhost if ctl else "", "node": node},
        )

    def _info(self, state: LabState, started: tuple[str, ...], seconds: float) -> StackInfo:
        return StackInfo(
            lab_dir=self.paths.root,
            parts=dict(state.parts),
            started=started,
            seconds=seconds,
            influx_url=state.urls.get("influx_url"),
            **{attr: state.urls[attr] for _, attr in URL_VARIABLES},
        )

    def info(self) -> StackInfo | None:
        """The last ``up``'s URLs from the state file, without checking anything runs."""
        state = load_state(self.paths)
        if not all(attr in state.urls for _, attr in URL_VARIABLES):
            return None
        return self._info(state, (), 0.0)

    # -- status ---------------------------------------------------------------------------

    def status(self) -> list[PartStatus]:
        state = load_state(self.paths)
        out = [part_status(self.paths, record) for record in in_part_order(state.parts).values()]
        for path, record in processes.pid_files(self.paths):
            part = path.name.removesuffix(".pid")
            if part not in state.parts:
                out.append(process_status(part, record))
        add_heartbeat_lag(out, state)
        return out

    # -- down -----------------------------------------------------------------------------

    def down(self, *, purge: bool = False) -> list[str]:
        """Stop every process the lab started (pid files, so leftovers too); parts stopped.

        Data directories stay, so the next ``up`` is quick and keeps its data, and so does
        the vhost's record; ``purge`` also deletes them, the lab's vhost and the whole lab
        directory (``purge()`` says what it removed).
        """
        state = load_state(self.paths)
        order = [p for p in reversed(SERVER_PARTS)]
        listed = [path.name.removesuffix(".pid") for path, _ in processes.pid_files(self.paths)]
        stopped = []
        for part in [p for p in listed if p not in order] + order:
            if self._stop_part(state, part):
                stopped.append(part)
        remove_stale_pid_files(self.paths)
        clear_state(self.paths, keep_vhost=True)
        if purge:
            self.purge()
        return stopped

    def _stop_part(self, state: LabState, part: str) -> bool:
        """Stop one part; a broker the lab started is asked to stop before it is signalled."""
        record = state.parts.get(part)
        node = str(record.extra.get("node", "")) if record else ""
        if part == RABBITMQ and node and processes.running(self.paths, part):
            ctl = find_binary("rabbitmqctl", self.search_path)
            if ctl:
                with contextlib.suppress(StackError, OSError, subprocess.TimeoutExpired):
                    rabbitmq.stop_server(ctl, node)
        return processes.stop_part(self.paths, part)

    def purge(self) -> str | None:
        """Delete the lab directory, and the vhost if the lab created it; a note on the vhost.

        Call after ``down``. A vhost named in ``TICKETLAB_AMQP_URL`` that existed before the
        lab used it is not the lab's to delete, and is left.
        """
        vhost = load_state(self.paths).vhost
        note = self._delete_vhost(vhost)
        shutil.rmtree(self.paths.shared_dir, ignore_errors=True)
        shutil.rmtree(self.paths.root, ignore_errors=True)
        return note

    def _delete_vhost(self, vhost: dict[str, Any]) -> str | None:
        name = str(vhost.get("name", ""))
        if not name:
            return None
        if not vhost.get("created") or name == "/":
            return f"vhost {name} kept: the lab did not create it"
        if vhost.get("node"):  # on the lab's own broker, whose data goes with the lab
            return f"vhost {name} removed with the lab's broker"
        ctl = find_binary("rabbitmqctl", self.search_path)
        broker = rabbitmq.Broker.parse(str(vhost.get("url", rabbitmq.DEFAULT_URL)))
        if ctl is None or not broker.answers():
            return f"vhost {name} not removed: no rabbitmqctl or no broker at {broker.port}"
        try:
            rabbitmq.delete_vhost(ctl, name, str(vhost.get("node", "")) or None)
        except (StackError, OSError, subprocess.TimeoutExpired) as exc:
            return f"vhost {name} not removed: {exc}"
        return f"vhost {name} removed"

    def delete_run_objects(self, prefix: str) -> list[str]:
        """Delete a run's queues and exchanges (names under its key prefix) from the lab's
        vhost, so no run leaves messages behind; the names deleted. Never raises: it is
        cleanup, and a broker that is gone has nothing left to delete."""
        vhost = load_state(self.paths).vhost
        ctl = find_binary("rabbitmqctl", self.search_path)
        if not vhost.get("url") or ctl is None:
            return []
        try:
            return rabbitmq.delete_prefixed(
                ctl, str(vhost["url"]), prefix, str(vhost.get("node", "")) or None
            )
        except Exception:
            return []


def recorded_vhost(state: LabState) -> str:
    if state.vhost.get("name"):
        return str(state.vhost["name"])
    rabbit = state.parts.get(RABBITMQ)
    return str(rabbit.extra.get("vhost", "")) if rabbit else ""


def remove_stale_pid_files(paths: LabPaths) -> list[str]:
    """Drop pid files whose process is gone (or whose pid now belongs to someone else)."""
    removed = []
    for path, record in processes.pid_files(paths):
        if record is None or not record.is_running():
            path.unlink(missing_ok=True)
            removed.append(path.name.removesuffix(".pid"))
    return removed


__all__ = ["MissingBinary", "PartStatus", "Stack", "StackError", "StackInfo"]
