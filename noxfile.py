"""Sessions users run (``nox -l`` lists them):

nox -s scenario -- NAME [options]   run a scenario end to end; prints where its report is
nox -s tests [-- PYTEST ARGS]       the test suite, against the machine's servers
nox -s unit [-- PYTEST ARGS]        the tests that need no server, in seconds
nox -s locust [-- --workers N]      the Locust web UI on the lab's buyers
nox -s lint                         ruff
nox -s mutate [-- MUTANT_NAMES]     mutation testing of the checkers and the domain (~10 min)
"""

from __future__ import annotations

import shutil

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
def mutate(session: nox.Session) -> None:
    """Mutation-test scenarios/checks, service/domain and the load shapes; print survivors.

    mutmut caches verdicts per function and does not notice changed tests, so a run
    without arguments starts from a clean mutants/; naming mutants (globs) reuses it.
    """
    session.install("-e", ".[test,lab,mutate]")
    session.env["HYPOTHESIS_PROFILE"] = "mutate"
    if not session.posargs:
        shutil.rmtree("mutants", ignore_errors=True)
    session.run("mutmut", "run", *session.posargs)
    session.run("python", "tests/mutation_report.py", "--max-logic-pct", "5")


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")
