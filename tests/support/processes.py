"""Real server processes for end-to-end tests: start, wait until ready, always stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_pids(supervisor_pid: int) -> list[int]:
    """The worker processes a supervisor spawned (not multiprocessing's resource tracker)."""
    task = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children")
    pids = []
    for pid in task.read_text().split():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:  # it ended between the two reads
            continue
        if b"spawn_main" in cmdline:
            pids.append(int(pid))
    return pids


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {READY_TIMEOUT_S}s:\n{log.read_text()}")


@contextlib.contextmanager
def running(
    args: list[str], ready_url: str, log: Path, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``python args...`` until the block ends; its output goes to ``log`` for diagnosis."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    try:
        wait_ready(ready_url, process, log)
        yield process
    finally:
        interrupt(process)


def interrupt(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop ``process`` as Ctrl-C would, and kill it if it has not exited within ``timeout``."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def pids_whose_argv(matches: Callable[[list[bytes]], bool]) -> list[int]:
    """Processes on the machine whose command line (its arguments, as bytes) ``matches``;
    one that exits while being read is left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if matches(argv):
            found.append(int(entry.name))
    return found
