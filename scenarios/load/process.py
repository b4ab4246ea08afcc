"""The Locust command lines, and starting Locust as a child process.

Locust monkey-patches the standard library with gevent when imported, so it always runs
in a process of its own: the runner (asyncio) builds the argv here, starts it with
``start_locust`` and waits for it; nothing in this module imports Locust.

Headless (the runner)::

    python -m locust -f scenarios/load/locustfile.py[,scenarios/load/shapefile.py]
        --headless --host URL --ticketlab-workload PATH --only-summary
        --exit-code-on-error 0 [--processes N] [-u U -r R -t Ts]

With ``--processes`` the master and its workers talk over a port of their own on
loopback: Locust's default (5557 on every interface) would open the lab to the network
and let the workers of two runs at once (two checkouts, a run beside the tests) join
whichever master holds it.

The shape file is added when the workload has a shape other than ``constant``; a constant
shape becomes ``-u``/``-r``/``-t``. ``--exit-code-on-error 0``: refusals (409s, 503s) are
outcomes the history records, not a reason for Locust to exit non-zero; a crash still is.

Web UI (``nox -s locust``), the same buyers, driven by hand on 127.0.0.1:8089::

    python -m locust -f scenarios/load/locustfile.py --host URL --ticketlab-workload PATH
        --web-host 127.0.0.1 --web-port 8089
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from scenarios.load.shapes import ConstantShape, needs_shape_class
from scenarios.load.workload import CLI_OPTION, Workload
from scenarios.stack.net import LOOPBACK, ephemeral_port
from scenarios.stack.processes import die_with_parent

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
LOCUSTFILE = HERE / "locustfile.py"
SHAPEFILE = HERE / "shapefile.py"
WEB_HOST = "127.0.0.1"
WEB_PORT = 8089


def locustfiles(workload: Workload, *, with_shape: bool = True) -> str:
    files = [LOCUSTFILE]
    if with_shape and needs_shape_class(workload.shape):
        files.append(SHAPEFILE)
    return ",".join(str(f) for f in files)


def headless_argv(
    workload: Workload,
    workload_path: Path,
    *,
    processes: int | None = None,
    users: int | None = None,
    spawn_rate: float | None = None,
    run_time_s: float | None = None,
    python: str = sys.executable,
    extra: Sequence[str] = (),
    csv_prefix: Path | None = None,
    master_port: int | None = None,
) -> list[str]:
    """The headless command for ``workload`` (written at ``workload_path``).

    Without a shape the load is ``users``/``spawn_rate``/``run_time_s`` (all required);
    a ``constant`` shape supplies them; any other shape drives the load itself.
    ``csv_prefix`` keeps Locust's own statistics (``<prefix>_stats.csv`` …) to check
    the history's figures against. ``master_port`` (with ``processes``): a free one if
    not given.
    """
    argv = [python, "-m", "locust", "-f", locustfiles(workload), "--headless"]
    argv += _common(workload, workload_path)
    argv += ["--only-summary", "--exit-code-on-error", "0"]
    if csv_prefix is not None:
        argv += ["--csv", str(csv_prefix)]
    if processes is not None:
        if processes == 0 or processes < -1:
            raise ValueError(f"processes must be >= 1 (or -1: one per core), got {processes}")
        port = str(master_port or ephemeral_port())
        argv += ["--processes", str(processes), "--master-bind-host", LOOPBACK]
        argv += ["--master-bind-port", port, "--master-host", LOOPBACK, "--master-port", port]
    shape = workload.shape
    if isinstance(shape, ConstantShape):
        users, spawn_rate, run_time_s = shape.users, shape.spawn_rate, shape.duration_s
    if not needs_shape_class(shape):
        if users is None or spawn_rate is None or run_time_s is None:
            raise ValueError("a workload without a shape needs users, spawn_rate and run_time_s")
        argv += ["-u", str(users), "-r", f"{spawn_rate:g}", "-t", f"{max(1, round(run_time_s))}s"]
    return argv + list(extra)


def web_ui_argv(
    workload: Workload,
    workload_path: Path,
    *,
    web_host: str = WEB_HOST,
    web_port: int = WEB_PORT,
    with_shape: bool = False,
    python: str = sys.executable,
) -> list[str]:
    """The web-UI command (``nox -s locust``): users and rate set by hand unless ``with_shape``."""
    argv = [python, "-m", "locust", "-f", locustfiles(workload, with_shape=with_shape)]
    return (
        argv
        + _common(workload, workload_path)
        + [
            "--web-host",
            web_host,
            "--web-port",
            str(web_port),
        ]
    )


def _common(workload: Workload, workload_path: Path) -> list[str]:
    return ["--host", workload.service_url, CLI_OPTION, str(workload_path)]


def locust_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment Locust needs: the repository importable (``scenarios.*``)."""
    env = dict(os.environ if base is None else base)
    paths = [str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def start_locust(
    argv: Sequence[str], log_path: Path, *, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start Locust with its stdout and stderr in ``log_path``; the caller waits and stops it.

    It gets its own process group, so a last-resort kill (``stop_locust``) reaches the
    worker processes of ``--processes`` too and never the caller.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        return subprocess.Popen(
            list(argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            env=locust_env(env),
            start_new_session=True,
            preexec_fn=die_with_parent(),  # a killed runner takes its load generator along
        )


def stop_locust(process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> int:
    """Stop Locust early, the way it wants: SIGTERM, then SIGKILL to its group if it hangs.

    SIGTERM, not SIGINT: Locust handles SIGTERM itself (quit the workers, print the summary,
    flush through the ``quitting`` event), while SIGINT may be ignored altogether in a child
    started from a non-interactive shell, which passes SIG_IGN down. Returns the exit code.
    """
    if process.poll() is not None:
        return process.returncode
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait()
