"""Waiting on a condition instead of sleeping a fixed time: fast when things are fast,
bounded when not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

WAIT_S = 30.0


async def wait_until(
    condition: Callable[[], Awaitable[bool]],
    within: float = WAIT_S,
    what: str = "",
    *,
    interval: float = 0.02,
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or condition}")
        await asyncio.sleep(interval)


def wait_until_sync(
    condition: Callable[[], bool],
    within: float = WAIT_S,
    what: str = "",
    *,
    interval: float = 0.02,
) -> None:
    """``wait_until`` for code outside an event loop (processes, files)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what or condition}")
        time.sleep(interval)
