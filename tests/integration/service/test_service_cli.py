"""``python -m service`` refuses bad input with a message naming it."""

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from service import supervisor
from tests.support.processes import free_port, interrupt
from tests.support.waiting import wait_until_sync


def child_env(changes: dict[str, str | None] | None) -> dict[str, str]:
    """This environment with ``changes`` applied; None removes the variable."""
    env = dict(os.environ)
    for name, value in (changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(*args: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_env(env),
    )


def test_a_bad_setting_stops_start_up_naming_the_variable() -> None:
    done = run("migrate", env={"TICKETLAB_CLAIM_STRATEGY": "yolo"})
    assert done.returncode == 2
    assert "TICKETLAB_CLAIM_STRATEGY='yolo'" in done.stderr


def test_an_impossible_venue_is_refused_naming_the_value() -> None:
    done = run("seed", "--zones", "30")
    assert done.returncode == 2
    assert "zones must be between 1 and 26, got 30" in done.stderr


def test_zero_workers_is_refused() -> None:
    done = run("--workers", "0")
    assert done.returncode == 2
    assert "--workers must be at least 1" in done.stderr


def test_an_unknown_command_lists_the_valid_ones() -> None:
    done = run("launch")
    assert done.returncode == 2
    assert "serve" in done.stderr and "migrate" in done.stderr


OWN_JWT_SECRET = {"TICKETLAB_JWT_SECRET": "s" * 40}
OWN_WEBHOOK_SECRET = {"TICKETLAB_PSP_WEBHOOK_SECRET": "w" * 40}
EXPOSURES = {
    "bind host": (["--host", "0.0.0.0"], {}, "--host 0.0.0.0"),
    "public url": (
        [],
        {"TICKETLAB_PUBLIC_URL": "https://tickets.example.com"},
        "TICKETLAB_PUBLIC_URL='https://tickets.example.com'",
    ),
    "issuer": (
        [],
        {"TICKETLAB_OIDC_ISSUER": "https://accounts.google.com"},
        "TICKETLAB_OIDC_ISSUER='https://accounts.google.com'",
    ),
}


def serve_refused(args: list[str], env: dict[str, str | None]) -> str:
    """Runs ``serve``, expects a refusal before anything started; returns its message."""
    base: dict[str, str | None] = {
        "TICKETLAB_JWT_SECRET": None,
        "TICKETLAB_PSP_WEBHOOK_SECRET": None,
        "TICKETLAB_PSP_SECRET_KEY": None,
        "TICKETLAB_PUBLIC_URL": None,
        "TICKETLAB_OIDC_ISSUER": None,
    }
    done = run("serve", "--port", str(free_port()), *args, env={**base, **env})
    assert done.returncode == 2, done.stderr
    assert "ticketlab service on" not in done.stdout  # refused before anything started
    return done.stderr


@pytest.mark.parametrize("exposure", EXPOSURES)
def test_serve_reachable_from_outside_refuses_the_public_jwt_secret(exposure: str) -> None:
    args, env, named = EXPOSURES[exposure]
    message = serve_refused(args, {**env, **OWN_WEBHOOK_SECRET})
    assert "TICKETLAB_JWT_SECRET is public" in message and named in message
    assert "TICKETLAB_PSP_WEBHOOK_SECRET" not in message


@pytest.mark.parametrize("exposure", EXPOSURES)
def test_serve_reachable_from_outside_refuses_the_public_webhook_secret(exposure: str) -> None:
    args, env, named = EXPOSURES[exposure]
    message = serve_refused(args, {**env, **OWN_JWT_SECRET})
    assert "TICKETLAB_PSP_WEBHOOK_SECRET (unset, so TICKETLAB_PSP_SECRET_KEY) is public" in message
    assert named in message and "TICKETLAB_JWT_SECRET" not in message


def test_public_secrets_on_loopback_are_served_with_warnings(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    env = child_env(
        {
            "TICKETLAB_OIDC_ISSUER": "http://127.0.0.1:9",
            "TICKETLAB_PUBLIC_URL": None,
            "TICKETLAB_JWT_SECRET": None,
            "TICKETLAB_PSP_WEBHOOK_SECRET": None,
            "TICKETLAB_PSP_SECRET_KEY": None,
        }
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", "serve", "--port", str(free_port())],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        # The warning comes before the banner; whether a database answers does not matter.
        wait_until_sync(
            lambda: "ticketlab service on" in log.read_text() or process.poll() is not None,
            30,
            "the service's banner (or its exit)",
            interval=0.05,
        )
        text = log.read_text()
        assert "ticketlab service on" in text, text
        warnings = [line for line in text.splitlines() if " WARNING " in line]
        assert "TICKETLAB_JWT_SECRET is public" in warnings[0]
        assert "TICKETLAB_PSP_WEBHOOK_SECRET (unset" in warnings[1]
    finally:
        interrupt(process)


def _ignore_sigterm_and_sleep(ready: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ready.release()
    time.sleep(60)


def test_the_supervisor_stops_its_workers_against_one_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four stuck workers cost one stop timeout, not four (each once had its own 10 s)."""
    monkeypatch.setattr(supervisor, "STOP_TIMEOUT_S", 0.5)
    context = multiprocessing.get_context("fork")
    ready = context.Semaphore(0)
    workers = [context.Process(target=_ignore_sigterm_and_sleep, args=(ready,)) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            assert ready.acquire(timeout=10), "a worker never started"
        started = time.monotonic()
        supervisor.stop_workers(workers)
        assert time.monotonic() - started < 1.5
        assert [w.exitcode for w in workers] == [-signal.SIGKILL] * 4
    finally:
        for worker in workers:
            worker.kill()
            worker.join()
