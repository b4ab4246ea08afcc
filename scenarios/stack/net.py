"""Ports: choosing free ones on loopback and telling whether something answers."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from scenarios.stack.errors import StackError

LOOPBACK = "127.0.0.1"
T = TypeVar("T")


def port_answers(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether a server could listen on it; SO_REUSEADDR as servers set it, so the
    TIME_WAIT connections a stopped server leaves behind do not make its port look busy."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return not port_answers(port, host, timeout=0.2)


def ephemeral_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def choose_port(
    preferred: Iterable[int | None],
    taken: Iterable[int] = (),
    is_free: Callable[[int], bool] = port_is_free,
) -> int:
    """The first preferred port that is free and not promised to another part, else any free one.

    Preferring last run's port keeps exported URLs valid across ``down``/``up``; the fixed
    defaults keep them memorable; the fallback means a busy port never blocks bring-up.
    """
    promised = set(taken)
    for port in preferred:
        if port and port not in promised and is_free(port):
            return port
    while True:
        port = ephemeral_port()
        if port not in promised:
            return port


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    failed: Callable[[], str | None] = lambda: None,
) -> T:
    """Poll ``probe`` until it returns something, ``failed`` reports a reason, or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        reason = failed()
        if reason:
            raise StackError(f"{what}: {reason}")
        if time.monotonic() >= deadline:
            raise StackError(f"{what}: not ready after {timeout:g} s")
        time.sleep(interval)
