"""Driving the service by hand: the stack, the apps and Locust's web UI (``nox -s locust``).

    python -m scenarios.interactive [--users-hint] [--workers N] [--web-port 8089]

Brings the stack up, seeds the seed's arena if the database has no concert, starts the
service and both providers, and opens Locust's web UI on the same buyers the scenarios
use. Ctrl-C stops Locust and the apps; servers this command started are stopped too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from scenarios.apps import AppPorts, Apps
from scenarios.load.process import WEB_PORT, locust_env, web_ui_argv
from scenarios.load.workload import parse_workload, write_workload
from scenarios.stack.paths import LabPaths, project_root
from scenarios.stack.stack import Stack, StackInfo
from service import schema

INTERACTIVE_PREFIX = "interactive"


def concert_ids(info: StackInfo) -> list[int]:
    settings = info.settings()
    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM concerts ORDER BY id")
        found = [row[0] for row in cur.fetchall()]
    return found or schema.seed(settings).concert_ids


def start_apps(info: StackInfo, workers: int) -> Apps:
    """The service and both providers on free ports, left running until ``ticketlab down``."""
    ports = AppPorts.choose()
    settings = info.settings(
        key_prefix=INTERACTIVE_PREFIX,
        public_url=ports.service_url,
        oidc_issuer=ports.idp_url,
        psp_url=ports.psp_url,
    )
    concert_ids(info)
    apps = Apps(LabPaths.at(info.lab_dir), ports, settings, workers=workers)
    apps.start(os.environ)
    return apps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nox -s locust --", description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=1, help="service worker processes")
    parser.add_argument("--web-port", type=int, default=WEB_PORT, help="Locust's web UI port")
    parser.add_argument("--pay", action="store_true", help="buyers also pay")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    stack = Stack()
    info = stack.up()
    apps = None
    try:
        print(f"stack ready in {info.lab_dir}", file=sys.stderr)
        apps = start_apps(info, args.workers)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        out = project_root() / "runs" / f"{stamp}-locust"
        out.mkdir(parents=True, exist_ok=True)
        workload = parse_workload(
            {
                "service_url": apps.ports.service_url,
                "psp_url": apps.ports.psp_url,
                "operations_path": str(out / "operations.jsonl"),
                "concert_ids": concert_ids(info),
                "pay": args.pay,
            }
        )
        path = write_workload(workload, out / "workload.json")
        argv_ = web_ui_argv(workload, path, web_port=args.web_port)
        print(
            f"Locust web UI: http://127.0.0.1:{args.web_port}  (service {apps.ports.service_url});"
            f" operations are recorded in {out}; Ctrl-C to stop",
            file=sys.stderr,
        )
        try:
            return subprocess.run(argv_, env=locust_env(), cwd=project_root()).returncode
        except KeyboardInterrupt:
            return 0
    finally:
        if apps is not None:
            apps.stop()
        if info.started:
            stack.down()


if __name__ == "__main__":
    sys.exit(main())
