"""Serving: one worker process, or N of them sharing a port under one supervisor.

Several workers share the port through SO_REUSEPORT, each a separate process with its own
event loop and pools; the parent only supervises and stops them together. Lives in its own
module (not ``__main__``) because spawned workers import their entry point by name.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import time

from service.config import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s [%(request_id)s] %(message)s"
STOP_TIMEOUT_S = 10.0
log = logging.getLogger("service")


def configure_logging() -> None:
    from service.request_id import RequestIdFilter

    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=os.environ.get("TICKETLAB_LOG_LEVEL", "INFO"), handlers=[handler])


def serve_worker(settings: Settings, host: str, port: int, reuse_port: bool) -> None:
    """One worker process: its own loop, pools and consumers."""
    from aiohttp import web

    from service.http.app import init_app

    configure_logging()
    loop = asyncio.new_event_loop()
    _stop_on_first_signal(loop)
    web.run_app(
        init_app(settings),
        host=host,
        port=port,
        reuse_port=reuse_port,
        print=None,
        access_log_format='%a "%r" %s %b %Tfs',
        handle_signals=False,
        loop=loop,
    )


def _stop_on_first_signal(loop: asyncio.AbstractEventLoop) -> None:
    """SIGTERM or SIGINT starts a graceful stop; a repeated SIGTERM does not interrupt it.

    A worker is often told twice: ``ticketlab down`` signals the whole process group (so the
    worker and its supervisor both get SIGTERM) and the supervisor then forwards a SIGTERM of
    its own; Ctrl-C reaches the group too. aiohttp's own handlers would raise GracefulExit
    again in the middle of the clean-up, abandoning open pools and consumers, so after the
    first signal SIGTERM is ignored (the supervisor's deadline and SIGKILL bound the wait)
    and SIGINT gets its default back: a second Ctrl-C still forces the worker out.
    """
    from aiohttp import web

    def first_signal() -> None:
        loop.add_signal_handler(signal.SIGTERM, lambda: None)
        loop.remove_signal_handler(signal.SIGINT)
        raise web.GracefulExit()

    loop.add_signal_handler(signal.SIGTERM, first_signal)
    loop.add_signal_handler(signal.SIGINT, first_signal)


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    """Serve until told to stop; ``ConfigError`` before anything starts if serving is unsafe."""
    warning = settings.check_for_serving()
    owned_dir = None
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        owned_dir = tempfile.mkdtemp(prefix="ticketlab-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = owned_dir
    try:
        # Only now: logging imports the metrics, which read PROMETHEUS_MULTIPROC_DIR on import.
        configure_logging()
        if warning:
            log.warning(warning)
        print(
            f"ticketlab service on http://{host}:{port} ({workers} worker(s), "
            f"strategy {settings.claim_strategy})",
            flush=True,
        )
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
        _stop_workers(children)
        for child in children:
            if child.pid is not None:
                multiprocess.mark_process_dead(child.pid)
    return exit_code


def _stop_workers(children: list[multiprocessing.process.BaseProcess]) -> None:
    """Signal every worker, then wait for all against one deadline, then kill the rest.

    Workers drain in parallel, so stopping N of them takes at most ``STOP_TIMEOUT_S``, not
    N times that: whoever stops the supervisor (``ticketlab down`` waits 20 s before its
    SIGKILL) can count on the supervisor being done first.
    """
    for child in children:
        if child.is_alive():
            child.terminate()  # SIGTERM; a worker that already exited is skipped
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        if child.pid is not None:
            child.join(max(0.0, deadline - time.monotonic()))
    for child in children:
        if child.is_alive():
            log.error("worker %s did not stop within %.0fs; killing it", child.name, STOP_TIMEOUT_S)
            child.kill()
    for child in children:
        if child.pid is not None:
            child.join()
