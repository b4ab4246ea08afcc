"""Sessions users run (``nox -l`` lists them):

nox -s scenario -- NAME [options]   run a scenario end to end; prints where its report is
nox -s tests [-- PYTEST ARGS]       the test suite, against the machine's servers
nox -s unit [-- PYTEST ARGS]        the tests that need no server, in seconds
nox -s locust [-- --workers N]      the Locust web UI on the lab's buyers
nox -s dashboards                   regenerate the Grafana dashboards (dashboards/grafana/)
nox -s lint                         ruff
nox -s mutate [-- MUTANT_NAMES]     mutation testing of the checkers and the domain (~10 min)
nox -s bench [-- --only NAME ...]   measurements as ratios to baselines; runs/bench-*/bench.md

Every session that installs the project shares one virtualenv, ``.nox/lab``: built by the
first of them (about 40 s), reinstalled only when ``pyproject.toml`` changes, and usable
by hand afterwards (``. .nox/lab/bin/activate`` puts ``ticketlab`` on the PATH).

nox exits 1 whatever failed, so a session says what the command's own exit code meant
before nox reports the failure. Ctrl-C gives the lab time to stop what it started (nox's
default is SIGTERM 0.3 s after the interrupt); anything left by a harder kill is stopped
by the lab's reaper and by the next ``ticketlab up`` or ``down``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

import nox
from nox.command import CommandFailed

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

LAB_VENV = Path(".nox") / "lab"
EXTRAS = "test,lab,mutate"
STOP_GRACE = {"interrupt_timeout": 120.0, "terminate_timeout": 30.0}
RUN_EXIT_CODES = {
    1: "a check failed (the report shows which, with counterexamples)",
    2: "the run could not be done: a bad scenario or option, or the stack failed (see above)",
    3: "a verdict is unknown: something did not settle in time, so a check could not decide",
    130: "interrupted: children were stopped and the manifest says so",
}
PYTEST_EXIT_CODES = {
    1: "some tests failed",
    2: "the run was interrupted",
    3: "pytest hit an internal error",
    4: "pytest was called wrongly",
    5: "no tests were collected",
}


def lab_venv(session: nox.Session) -> Path:
    """The shared virtualenv's bin directory, (re)installed when pyproject.toml changed."""
    python = LAB_VENV / "bin" / "python"
    if not python.exists():  # virtualenv comes with nox; Debian's python3 may lack venv
        session.run(sys.executable, "-m", "virtualenv", "-q", str(LAB_VENV), external=True)
    stamp = LAB_VENV / "ticketlab-install.txt"
    wanted = hashlib.sha256(Path("pyproject.toml").read_bytes() + EXTRAS.encode()).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        session.run(str(python), "-m", "pip", "install", "-q", "-e", f".[{EXTRAS}]", external=True)
        stamp.write_text(wanted)
    return python.parent


def run_in_lab(
    session: nox.Session,
    *args: str,
    meanings: Mapping[int, str],
    env: Mapping[str, str] | None = None,
    **kwargs: object,
) -> None:
    """Run a command of the shared venv; on failure say what its exit code meant."""
    bin_dir = lab_venv(session).resolve()
    env = {
        **(env or {}),
        "VIRTUAL_ENV": str(bin_dir.parent),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    try:
        session.run(str(bin_dir / args[0]), *args[1:], external=True, env=env, **kwargs)
    except CommandFailed as failed:
        code = getattr(failed, "return_code", None)
        if code in meanings:
            session.warn(f"{args[0]} exited {code}: {meanings[code]}")
        raise


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Run the test suite against this machine's MariaDB, Redis and RabbitMQ.

    Without arguments, in two runs: the unit tier first, spread over the cores like ``nox
    -s unit`` (it is CPU-bound and nothing else runs meanwhile: 35 s instead of 60), then
    the integration and end-to-end tiers in one process (they time faults against live
    servers, so they get the machine to themselves). The second runs even when the first
    failed, so one pass shows every failure. With arguments, one pytest run with them.
    """
    if session.posargs:
        run_in_lab(session, "pytest", *session.posargs, meanings=PYTEST_EXIT_CODES)
        return
    tiers = {
        "the unit tier": ("tests/unit", "-n", "auto", "--dist", "loadfile"),
        "the integration and end-to-end tiers": ("tests", "--ignore=tests/unit"),
    }
    failed = []
    for tier, args in tiers.items():
        try:
            run_in_lab(session, "pytest", *args, meanings=PYTEST_EXIT_CODES)
        except CommandFailed:
            failed.append(tier)
    if failed:
        session.error(f"{' and '.join(failed)} failed: the failures are listed above")


@nox.session(venv_backend="none", default=False)
def unit(session: nox.Session) -> None:
    """Run the unit tier (tests/unit): no MariaDB, Redis or RabbitMQ needed.

    It is CPU-bound (mostly drawing reports' charts), so it is spread over the cores
    (pytest-xdist, a module per worker so a module's shared fixtures are built once): 38 s
    instead of 60 s on an idle two-core machine. ``nox -s unit -- -n 0`` runs it in one
    process (quicker when other work already takes the cores).
    """
    xdist = ("-n", "auto", "--dist", "loadfile")
    run_in_lab(
        session, "pytest", "tests/unit", *xdist, *session.posargs, meanings=PYTEST_EXIT_CODES
    )


@nox.session(venv_backend="none", default=False)
def scenario(session: nox.Session) -> None:
    """Run one scenario end to end: nox -s scenario -- double-booking (ticketlab list)."""
    if not session.posargs:
        session.error("name a scenario: nox -s scenario -- NAME (smoke, double-booking, ...)")
    run_in_lab(session, "ticketlab", "run", *session.posargs, meanings=RUN_EXIT_CODES, **STOP_GRACE)


@nox.session(venv_backend="none", default=False)
def locust(session: nox.Session) -> None:
    """Open Locust's web UI on http://127.0.0.1:8089 on the lab's buyers; Ctrl-C stops it."""
    run_in_lab(
        session,
        "python",
        "-m",
        "scenarios.interactive",
        *session.posargs,
        meanings={2: "bad options (see above)"},
        **STOP_GRACE,
    )


@nox.session(venv_backend="none", default=False)
def bench(session: nox.Session) -> None:
    """Measure this machine: nox -s bench -- [--only NAME ...] [--size tiny|default].

    Writes runs/bench-<timestamp>/bench.json and bench.md and prints the table; each value
    is judged as a ratio to a baseline measured in the same command.
    """
    run_in_lab(
        session,
        "python",
        "-m",
        "scenarios.bench",
        *session.posargs,
        meanings={1: "a measurement failed (bench.md names it)", 2: "bad options (see above)"},
        **STOP_GRACE,
    )


@nox.session(venv_backend="none", default=False)
def mutate(session: nox.Session) -> None:
    """Mutation-test scenarios/checks, service/domain and the load shapes; print survivors.

    mutmut caches verdicts per function and does not notice changed tests, so a run
    without arguments starts from a clean mutants/; naming mutants (globs) reuses it.
    """
    if not session.posargs:
        shutil.rmtree("mutants", ignore_errors=True)
    env = {"HYPOTHESIS_PROFILE": "mutate"}
    run_in_lab(session, "mutmut", "run", *session.posargs, meanings={}, env=env)
    run_in_lab(
        session,
        "python",
        "tests/mutation_report.py",
        "--max-logic-pct",
        "5",
        meanings={1: "logic survivors above 5 % (the table above names them)"},
    )


@nox.session(default=False)
def dashboards(session: nox.Session) -> None:
    """Regenerate dashboards/grafana/ from dashboards/catalog.py (`-- --check` only checks)."""
    session.install("-e", ".[lab]")
    session.run("python", "-m", "dashboards", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
