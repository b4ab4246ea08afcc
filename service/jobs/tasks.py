"""Stopping a background task for sure: a lost cancellation must not hang a shutdown.

On 3.11, ``wait_for`` and the libraries built on it (aio-pika's robust channels among them)
can swallow a cancellation that lands as their inner call completes; a loop that then
goes on ticking never ends, and whoever awaits it after ``cancel()`` waits forever — a
worker that cannot stop, a test that hangs the suite, a lab run that never reports.
"""

from __future__ import annotations

import asyncio
from typing import Any

STOP_WITHIN_S = 10.0


async def stop_task(task: asyncio.Task[Any] | None, within_s: float = STOP_WITHIN_S) -> None:
    """Cancel ``task`` and wait for it, cancelling again until it is done, at most
    ``within_s``. Past the bound it raises ``RuntimeError`` naming the task (the caller
    decides whether that is an error to report or a task to abandon); a task that failed
    passes its error on."""
    if task is None:
        return
    deadline = asyncio.get_running_loop().time() + within_s
    while not task.done():
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"{task.get_name()} did not stop within {within_s:g} s")
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
