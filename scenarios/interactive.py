"""Driving the service by hand: the stack, the apps and Locust's web UI (``nox -s locust``).

    python -m scenarios.interactive [--workers N] [--web-port 8089] [--pay] [--runs-dir DIR]

Brings the stack up, seeds the seed's arena if the database has no concert, starts the
service and both providers, and opens Locust's web UI on the same buyers the scenarios
use. Ctrl-C stops Locust and the apps; servers this command started are stopped too, and
so is everything else it started should it be killed (``scenarios.stack.reaper``).

Operations are recorded in the lab directory while Locust runs. On exit, if any traffic
was sent, they become a run directory like a scenario's (``runs/<stamp>-locust/``:
manifest, one variant ``interactive``, stats, summary, logs and ``report.html``); with no
traffic nothing is written.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scenarios.apps import AppPorts, Apps
from scenarios.load.process import WEB_PORT, locust_env, web_ui_argv
from scenarios.load.workload import Workload, parse_workload, write_workload
from scenarios.stack import processes
from scenarios.stack.info import StackInfo
from scenarios.stack.paths import LabPaths, project_root
from scenarios.stack.reaper import interrupted_by_sigterm, owning
from scenarios.stack.stack import Stack
from service import schema
from service.config import Settings

DEFAULT_KEY_PREFIX = "interactive"
VARIANT = "interactive"


def concert_ids(info: StackInfo) -> list[int]:
    settings = info.settings()
    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM concerts ORDER BY id")
        found = [row[0] for row in cur.fetchall()]
    return found or schema.seed(settings).concert_ids


def app_settings(
    info: StackInfo, ports: AppPorts, environ: Mapping[str, str] | None = None
) -> Settings:
    """The user's ``TICKETLAB_*`` settings (claim strategy, key prefix, …), on the lab's
    servers and apps: only the URLs are the lab's to choose."""
    environ = os.environ if environ is None else environ
    stack_urls = {
        "db_url": info.db_url,
        "replica_url": info.replica_url,
        "db_admin_url": info.db_admin_url,
        "redis_url": info.redis_url,
        "amqp_url": info.amqp_url,
    }
    return Settings.from_env(
        environ,
        **stack_urls,
        key_prefix=environ.get("TICKETLAB_KEY_PREFIX") or DEFAULT_KEY_PREFIX,
        public_url=ports.service_url,
        oidc_issuer=ports.idp_url,
        psp_url=ports.psp_url,
    )


def start_apps(info: StackInfo, workers: int) -> Apps:
    """The service and both providers on free ports, left running until ``ticketlab down``."""
    ports = AppPorts.choose()
    settings = app_settings(info, ports)
    concert_ids(info)
    apps = Apps(LabPaths.at(info.lab_dir), ports, settings, workers=workers)
    apps.start(os.environ)
    return apps


@dataclass
class Session:
    """One web-UI session: where Locust records, and what the run directory will say."""

    staging: Path
    started_at: datetime
    command: str
    workload: Workload
    settings: Settings
    runs_dir: Path

    @property
    def operations(self) -> Path:
        return self.staging / "operations.jsonl"

    def sent_traffic(self) -> bool:
        return self.operations.exists() and self.operations.stat().st_size > 0


def run_web_ui(argv: Sequence[str]) -> int:
    """Locust in the foreground until it exits or Ctrl-C; it dies with us if we are killed."""
    child = subprocess.Popen(
        list(argv), env=locust_env(), cwd=project_root(), preexec_fn=processes.die_with_parent()
    )
    try:
        return child.wait()
    except KeyboardInterrupt:  # the terminal sent Locust SIGINT too; give it time to quit
        with contextlib.suppress(subprocess.TimeoutExpired):
            return child.wait(10)
        child.kill()
        return child.wait()


def save_run(session: Session, apps: Apps, info: StackInfo, status: str) -> Path | None:
    """The session as a run directory, with its report; None when no traffic was sent."""
    from scenarios import rundir
    from scenarios.history import History
    from scenarios.load.merge import merge_parts
    from scenarios.provenance import code_version, machine, server_versions
    from scenarios.runner import write_report
    from scenarios.summary import measured_window, summarize

    merge_parts(session.operations)
    if not session.sent_traffic():
        return None
    run_dir = rundir.new_run_dir("locust", session.runs_dir, session.started_at)
    out = rundir.variant_dir(run_dir, VARIANT)
    shutil.copyfile(session.operations, out / "operations.jsonl")
    write_workload(session.workload, out / "workload.json")
    rundir.write_json(out / "settings.json", session.settings.public())
    apps.collect_logs(out / "logs")
    history = History.from_jsonl((out / "operations.jsonl").read_text())
    started = session.started_at.timestamp()
    window = measured_window(history, 0.0, (started, datetime.now(UTC).timestamp()))
    stats, summary = summarize(history, window)
    rundir.write_csv(out / "stats.csv", rundir.STATS_COLUMNS, stats)
    rundir.write_json(out / "summary.json", summary)
    manifest = rundir.Manifest(
        run_id=run_dir.name,
        scenario={"name": "locust", "description": "Locust web UI, driven by hand"},
        started_at=session.started_at.isoformat(),
        command=session.command,
        rerun_command=session.command,
        seed=session.workload.seed,
        variants=[VARIANT],
        code=code_version(),
        machine=machine(),
        servers=server_versions(session.settings) | info.broker_version(),
    )
    # No checks: nobody said what this session should show.
    manifest.finish(status, "unknown", None)
    manifest.write(run_dir)
    write_report(run_dir, Printer())
    return run_dir


class Printer:
    """What ``write_report`` needs of a progress display: a log line."""

    def log(self, message: str) -> None:
        print(message, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s locust --", description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1, help="service worker processes")
    parser.add_argument("--web-port", type=int, default=WEB_PORT, help="Locust's web UI port")
    parser.add_argument("--pay", action="store_true", help="buyers also pay")
    parser.add_argument("--runs-dir", type=Path, help="where the run directory goes (runs/)")
    given = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(given)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    stack = Stack()
    command = " ".join(["nox -s locust --", *given]) if given else "nox -s locust"
    with interrupted_by_sigterm(), owning(stack.paths):
        return serve(stack, args, command)


def serve(stack: Stack, args: argparse.Namespace, command: str) -> int:
    info = stack.up()
    apps: Apps | None = None
    session: Session | None = None
    status = "completed"
    try:
        print(f"stack ready in {info.lab_dir}", file=sys.stderr)
        apps = start_apps(info, args.workers)
        staging = stack.paths.root / "locust" / str(os.getpid())
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        workload = parse_workload(
            {
                "service_url": apps.ports.service_url,
                "operations_path": str(staging / "operations.jsonl"),
                "concert_ids": concert_ids(info),
                "pay": args.pay,
            }
        )
        runs_dir = args.runs_dir or project_root() / "runs"
        session = Session(staging, datetime.now(UTC), command, workload, apps.settings, runs_dir)
        path = write_workload(workload, staging / "workload.json")
        print(
            f"Locust web UI: http://127.0.0.1:{args.web_port}  (service {apps.ports.service_url});"
            " Ctrl-C to stop; a run directory and report are written if traffic was sent",
            file=sys.stderr,
        )
        code = run_web_ui(web_ui_argv(workload, path, web_port=args.web_port))
        return 0 if code in (0, -2, 130) else code
    except KeyboardInterrupt:
        status = "interrupted"
        return 130
    finally:
        if apps is not None:
            apps.stop()
        if session is not None and apps is not None:
            run_dir = save_run(session, apps, info, status)
            print(
                f"run directory: {run_dir}" if run_dir else "no traffic was sent: no run written",
                file=sys.stderr,
            )
            shutil.rmtree(session.staging, ignore_errors=True)
        if info.started:
            stack.down()


if __name__ == "__main__":
    sys.exit(main())
