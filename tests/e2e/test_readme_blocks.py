"""Every ``sh`` block of the README, pasted in order into one shell, works.

The convention (``tests/support/readme.py``): a block tagged ``sh`` is run here unless the
line before it is ``<!-- illustrative: why -->``. The shell is what a newcomer has after
the quick start: bash with the project's virtualenv first on the PATH, in a directory where
the worked example was saved as ``hot_seats.py``. It runs with ``set -eu``, so a failing
command or an unset variable stops it, and the block that failed is named. It gets a lab
directory and a vhost of its own, and holds a lock on the README's fixed ports (8080,
9000, 9100, and the fault proxy's 8474 and 26379) so two test runs on one machine take
turns. Afterwards every process it
started is stopped and the lab purged; the test checks nothing is left listening.

Slow (about two minutes): three stack bring-ups, the 43,000-seat arena, the apps.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios.stack.net import port_answers
from tests.support.isolation import AMQP_BASE, fresh_vhost
from tests.support.readme import blocks, python_example
from tests.support.waiting import wait_until_sync

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_vhost_left_behind")]
README_PORTS = (8080, 9000, 9100, 8474, 26379)
LOCK = Path("/tmp/ticketlab-readme-ports.lock")
LOCK_WAIT_S = 900.0
SCRIPT_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 20.0
MARK = "::readme-block::"
CHECK = """
printf '%s%s\\n' '::reservations::' "$(curl -s -H "Authorization: Bearer $ACCESS" \\
    "$SERVICE/api/v1/me/reservations")"
"""


@contextlib.contextmanager
def readme_ports() -> Iterator[None]:
    """The README's ports, one test run at a time; refused if a stranger holds them."""
    with LOCK.open("a") as lock:

        def locked() -> bool:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        wait_until_sync(locked, LOCK_WAIT_S, f"{LOCK} to be unlocked", interval=0.5)
        try:
            busy = [port for port in README_PORTS if port_answers(port)]
            assert busy == [], f"the README's ports {busy} are taken by something else"
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def shell_env(lab_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETLAB_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    env["TICKETLAB_LAB_DIR"] = str(lab_dir)
    env["TICKETLAB_AMQP_URL"] = AMQP_BASE.rstrip("/") + "/" + fresh_vhost()
    env.pop("VIRTUAL_ENV", None)
    return env


def script() -> str:
    """The running blocks, each announced by a marker, then a check of what they did."""
    parts = ["set -eu"]
    for block in (b for b in blocks() if b.runs):
        parts += [f'echo "{MARK}{block.line} $(date +%s.%N)"', block.code]
    return "\n".join([*parts, CHECK])


def failed_block(output: str) -> str:
    """The README line of the last block that started, and its first command."""
    started = re.findall(rf"^{re.escape(MARK)}(\d+) ", output, re.MULTILINE)
    if not started:
        return "before the first block"
    line = int(started[-1])
    block = next(b for b in blocks() if b.line == line)
    return f"README.md line {line}: {block.first_line}"


def stop_group(shell: subprocess.Popen[bytes]) -> None:
    """The shell and everything it left in the background (``&``) share its group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(shell.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and group_alive(shell.pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(shell.pid, signal.SIGKILL)
    shell.wait(timeout=STOP_TIMEOUT_S)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    """(exit code, output) of the README's blocks in one shell; then everything stopped."""
    work = tmp_path_factory.mktemp("newcomer")
    (work / "hot_seats.py").write_text(python_example())
    env = shell_env(work / "lab")
    log = work / "shell.log"
    with readme_ports():
        with log.open("wb") as out:
            shell = subprocess.Popen(
                ["bash", "-c", script()],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            code = shell.wait(timeout=SCRIPT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            code = -1
        finally:
            stop_group(shell)
            subprocess.run(
                ["ticketlab", "down", "--purge"], env=env, capture_output=True, timeout=120
            )
        yield code, log.read_text(errors="replace")
        wait_until_sync(
            lambda: not any(port_answers(port) for port in README_PORTS),
            STOP_TIMEOUT_S,
            "the README's servers to stop",
        )


def test_every_shell_block_of_the_readme_runs_when_pasted_in_order(
    readme_run: tuple[int, str],
) -> None:
    code, output = readme_run
    assert code == 0, f"failed at {failed_block(output)} (exit {code}):\n{output[-4000:]}"


def test_the_walkthrough_ends_with_a_confirmed_payment(readme_run: tuple[int, str]) -> None:
    _, output = readme_run
    line = next(x for x in output.splitlines() if x.startswith("::reservations::"))
    reservations = json.loads(line.removeprefix("::reservations::"))["reservations"]
    assert [r["status"] for r in reservations] == ["CONFIRMED"]
