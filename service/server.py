"""Serving: one worker process, or N of them sharing a port under one supervisor.

Several workers share the port through SO_REUSEPORT, each a separate process with its own
event loop and pools; the parent only supervises and stops them together. Lives in its own
module (not ``__main__``) because spawned workers import their entry point by name.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import tempfile

from service.config import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s [%(request_id)s] %(message)s"
STOP_TIMEOUT_S = 10.0
log = logging.getLogger("service")


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
