"""``python -m service``: serve the API, or administer the schema.

    python -m service [serve] [--host H] [--port P] [--workers N]
    python -m service migrate
    python -m service seed [--concerts N] [--zones Z] [--rows R] [--seats-per-row S]
    python -m service reset

Several workers share one port through SO_REUSEPORT, each a separate process with its own
event loop and pools; the parent only supervises and stops them together.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence

from service.config import ConfigError, Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s [%(request_id)s] %(message)s"
STOP_TIMEOUT_S = 10.0
log = logging.getLogger("service")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__.split("\n")[0])
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "migrate", "seed", "reset"]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concerts", type=int, default=1, help="seed: how many concerts")
    parser.add_argument("--zones", type=int, default=26, help="seed: zones per venue (1-26)")
    parser.add_argument("--rows", type=int, default=None, help="seed: at most this many rows")
    parser.add_argument("--seats-per-row", type=int, default=100, help="seed: seats per row")
    parser.add_argument("--base-price", type=int, default=50_000, help="seed: ECONOMY price")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, got {args.port}")
    return args


def configure_logging() -> None:
    from service.http.telemetry import RequestIdFilter

    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=os.environ.get("TICKETLAB_LOG_LEVEL", "INFO"), handlers=[handler])


def serve_worker(settings: Settings, host: str, port: int, reuse_port: bool) -> None:
    """One worker process: its own loop, pools and consumers."""
    from aiohttp import web

    from service.http.app import init_app

    configure_logging()
    web.run_app(
        init_app(settings),
        host=host,
        port=port,
        reuse_port=reuse_port,
        print=None,
        access_log_format='%a "%r" %s %b %Tfs',
        handle_signals=True,
    )


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    owned_dir = None
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        owned_dir = tempfile.mkdtemp(prefix="ticketlab-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = owned_dir
    print(
        f"ticketlab service on http://{host}:{port} ({workers} worker(s), "
        f"strategy {settings.claim_strategy})",
        flush=True,
    )
    try:
        if workers == 1:
            serve_worker(settings, host, port, reuse_port=False)
            return 0
        return supervise(settings, host, port, workers)
    finally:
        if owned_dir:
            shutil.rmtree(owned_dir, ignore_errors=True)


def supervise(settings: Settings, host: str, port: int, workers: int) -> int:
    """Start the workers, and stop them all when one dies or we are told to stop."""
    from prometheus_client import multiprocess

    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=serve_worker, args=(settings, host, port, True), name=f"worker-{i}")
        for i in range(workers)
    ]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.start()
    exit_code = 0
    try:
        while not stopping:
            dead = [c for c in children if not c.is_alive()]
            if dead:
                log.error("worker %s exited with %s; stopping", dead[0].name, dead[0].exitcode)
                exit_code = 1
                break
            signal.sigtimedwait([signal.SIGCHLD], 0.5)
    finally:
        for child in children:
            if child.is_alive():
                os.kill(child.pid, signal.SIGINT)
        for child in children:
            child.join(STOP_TIMEOUT_S)
            if child.is_alive():
                child.kill()
                child.join()
            if child.pid is not None:
                multiprocess.mark_process_dead(child.pid)
    return exit_code


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"python -m service: {exc}", file=sys.stderr)
        return 2
    from service import schema

    if args.command == "migrate":
        applied = schema.migrate(settings)
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
        return 0
    if args.command == "seed":
        from service.domain.venue import venue_layout

        try:
            layout = venue_layout(args.zones, args.seats_per_row, args.rows)
        except ValueError as exc:
            print(f"python -m service seed: {exc}", file=sys.stderr)
            return 2
        result = schema.seed(
            settings, concerts=args.concerts, layout=layout, base_price=args.base_price
        )
        print(
            f"seeded concerts {result.concert_ids}: {result.seats} seats in {result.seconds:.2f}s"
        )
        return 0
    if args.command == "reset":
        schema.reset(settings)
        print("bookings emptied, every seat available")
        return 0
    return serve(settings, args.host, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())
