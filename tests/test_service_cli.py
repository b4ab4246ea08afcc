"""``python -m service`` refuses bad input with a message naming it."""

import os
import subprocess
import sys


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
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
