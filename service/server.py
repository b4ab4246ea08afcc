"""Serving: one worker process, or N of them sharing a port under one supervisor.

Several workers share the port through SO_REUSEPORT, each a separate process with its own
event loop and pools; the parent only supervises them (``service/supervisor.py``: restarts
the dead, stops them together). Lives in its own module (not ``__main__``) because spawned
workers import their entry point by name.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal

from service.config import Settings
from service.metrics_dir import make_metrics_dir

LOG_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s [%(request_id)s] %(message)s"
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
    from service.memory_trace import traced_if_asked

    configure_logging()
    loop = new_event_loop(settings.event_loop)
    _stop_on_first_signal(loop)
    app = init_app(settings)
    with traced_if_asked():  # memray, when the lab asks (service/memory_trace.py)
        web.run_app(
            app,
            host=host,
            port=port,
            reuse_port=reuse_port,
            print=None,
            access_log_format='%a "%r" %s %b %Tfs',
            handle_signals=False,
            loop=loop,
        )


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """The worker's loop: asyncio's own, or uvloop's (libuv: less Python per socket event).

    Which one serves faster on this machine is measured by ``nox -s bench``, not assumed.
    """
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


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
    warnings = settings.check_for_serving(host)
    owned_dir = None
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        owned_dir = make_metrics_dir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(owned_dir)
    try:
        # Only now: logging imports the metrics, which read PROMETHEUS_MULTIPROC_DIR on import.
        configure_logging()
        for warning in warnings:
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
    """The workers under ``service/supervisor.py``: dead ones restarted, all stopped together."""
    from service import metrics
    from service.supervisor import supervise as run_supervised

    def count_restart(cause: str) -> None:
        metrics.worker_restarts.labels(cause=cause).inc()

    return run_supervised(
        serve_worker,
        (settings, host, port, True),
        workers,
        settings.worker_restarts_per_minute,
        on_restart=count_restart,
    )
