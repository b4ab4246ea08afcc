"""The file given to ``locust -f``: the buyers, the workload option, recording to disk.

Run by hand (from the repository root, service and identity provider running)::

    python -m locust -f scenarios/load/locustfile.py --host http://127.0.0.1:8080 \\
        --ticketlab-workload workload.json            # web UI on :8089
    python -m locust -f scenarios/load/locustfile.py,scenarios/load/shapefile.py \\
        --headless --ticketlab-workload workload.json  # the workload's shape drives it

``scenarios/load/process.py`` builds these commands for the runner. This module is glue
only: what it wires lives in modules that do not import Locust.
"""

from __future__ import annotations

import atexit
import logging
import sys
import time
from typing import Any

import gevent
import locust.runners
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from scenarios.load.context import LoadContext
from scenarios.load.users import CONTEXT_ATTR, Buyer
from scenarios.load.workload import CLI_OPTION, ENV_VAR, WorkloadError, load_workload
from scenarios.locust_stats import write_final

__all__ = ["Buyer"]

FLUSH_INTERVAL_S = 1.0
log = logging.getLogger("ticketlab.load")

#: Seconds of silence after which the master of ``--processes`` declares a worker missing.
#: Locust's default (liveness 3 × a 1 s interval: about 4 s) is too short on a small loaded
#: machine: a worker busy spawning users and signing them in on a starved core sends no
#: heartbeat for several seconds, the master calls it missing, and once the last one is,
#: stops the whole load early, exiting 0. A truly dead worker is still found, 15 s later
#: (and the runner's own deadline, ``LOCUST_GRACE_S`` in scenarios/variant.py, stays).
WORKER_SILENCE_S = 15
# There is no command-line option for it. The master reads the module constant each time a
# worker connects or sends a heartbeat, and counts it down once per HEARTBEAT_INTERVAL
# (kept: the workers send at that interval), so setting it when this file is imported,
# before any worker connects, is enough; it only matters in the master.
locust.runners.HEARTBEAT_LIVENESS = WORKER_SILENCE_S // locust.runners.HEARTBEAT_INTERVAL - 1


@events.init_command_line_parser.add_listener
def add_workload_option(parser: Any, **_: Any) -> None:
    parser.add_argument(
        CLI_OPTION,
        type=str,
        env_var=ENV_VAR,
        default="",
        include_in_web_ui=False,  # read once at start; editing it in the UI would do nothing
        help="Path of the ticketlab workload JSON (scenarios/load/workload.py)",
    )


@events.init.add_listener
def load_context(environment: Environment, **_: Any) -> None:
    """Read the workload in every process; buyer processes also open their recorder."""
    options = environment.parsed_options
    path = getattr(options, CLI_OPTION.lstrip("-").replace("-", "_"), "") if options else ""
    if not path:
        sys.exit(f"ticketlab: {CLI_OPTION} PATH (or {ENV_VAR}) is required")
    try:
        workload = load_workload(path)
    except WorkloadError as exc:
        sys.exit(f"ticketlab: bad workload {path}: {exc}")
    if not environment.host:
        environment.host = workload.service_url
    Buyer.network_timeout = Buyer.connection_timeout = workload.request_timeout_s
    if not isinstance(environment.runner, WorkerRunner):
        keep_final_figures(environment)
    if isinstance(environment.runner, MasterRunner):
        return  # the master of --processes runs no users and records nothing
    processes = getattr(options, "processes", None)
    context = LoadContext.for_process(workload, processes=processes)
    setattr(environment, CONTEXT_ATTR, context)
    log.info("ticketlab: recording operations to %s", context.recorder.path)
    gevent.spawn(_flush_periodically, context)
    atexit.register(context.recorder.flush)


def keep_final_figures(environment: Environment) -> None:
    """With ``--csv PREFIX``: the figures of Locust's closing summary, in
    ``PREFIX_final.json`` (``scenarios/locust_stats.py``: its CSV is up to a second stale).

    ``quit`` fires after the runner has quit (with ``--processes``, after the workers' last
    reports) and after the summary is printed: the statistics are final.
    """
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix:
        return
    stopping: list[float] = []

    def began_stopping(**_: Any) -> None:
        stopping.append(time.time())

    def write(**_: Any) -> None:
        write_final(prefix, environment.stats, stopping[0] if stopping else None)

    environment.events.test_stopping.add_listener(began_stopping)
    environment.events.quit.add_listener(write)


@events.test_start.add_listener
def schedule_warmup_reset(environment: Environment, **_: Any) -> None:
    """Locust's own statistics leave out the warm-up (the history keeps it, with times)."""
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    path = getattr(environment.parsed_options, "ticketlab_workload", "")
    warmup_s = load_workload(path).warmup_s if path else 0.0
    if warmup_s > 0:
        gevent.spawn_later(warmup_s, _end_warmup, environment)


@events.test_stop.add_listener
def flush_at_stop(environment: Environment, **_: Any) -> None:
    _flush(environment)


@events.quitting.add_listener
def flush_at_quit(environment: Environment, **_: Any) -> None:
    _flush(environment)


def _flush(environment: Environment) -> None:
    context: LoadContext | None = getattr(environment, CONTEXT_ATTR, None)
    if context is not None:
        context.recorder.flush()


def _flush_periodically(context: LoadContext) -> None:
    while True:
        gevent.sleep(FLUSH_INTERVAL_S)
        try:
            context.recorder.flush()
        except OSError:
            log.exception("ticketlab: could not write %s", context.recorder.path)


def _end_warmup(environment: Environment) -> None:
    environment.stats.reset_all()
    log.info("ticketlab: warm-up over, Locust statistics reset")
