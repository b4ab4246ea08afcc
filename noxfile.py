"""Sessions users run (``nox -l`` lists them):

nox -s scenario -- NAME [options]   run a scenario end to end; prints where its report is
nox -s tests [-- PYTEST ARGS]       the test suite, against the machine's servers
nox -s unit [-- PYTEST ARGS]        the tests that need no server, in seconds
nox -s locust [-- --workers N]      the Locust web UI on the lab's buyers
nox -s dashboards                   regenerate the Grafana dashboards (dashboards/grafana/)
nox -s lint                         ruff
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against this machine's MariaDB, Redis and RabbitMQ."""
    session.install("-e", ".[test,lab]")
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def unit(session: nox.Session) -> None:
    """Run the unit tier (tests/unit): no MariaDB, Redis or RabbitMQ needed."""
    session.install("-e", ".[test,lab]")
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session(default=False)
def scenario(session: nox.Session) -> None:
    """Run one scenario end to end: nox -s scenario -- double-booking (ticketlab list)."""
    if not session.posargs:
        session.error("name a scenario: nox -s scenario -- NAME (smoke, double-booking, ...)")
    session.install("-e", ".[lab]")
    session.run("ticketlab", "run", *session.posargs)


@nox.session(default=False)
def locust(session: nox.Session) -> None:
    """Open Locust's web UI on http://127.0.0.1:8089 on the lab's buyers; Ctrl-C stops it."""
    session.install("-e", ".[lab]")
    session.run("python", "-m", "scenarios.interactive", *session.posargs)


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
