"""Background tasks (the lab's companions, the service's periodic jobs) are stopped even
when a cancellation is lost (3.11's wait_for can swallow one): nothing may hang on them."""

from __future__ import annotations

import asyncio

import pytest

from service.jobs.tasks import stop_task


async def test_a_task_that_swallows_a_cancellation_is_cancelled_again_until_it_stops() -> None:
    swallowed = []

    async def loop() -> None:
        while True:
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(True)  # as wait_for does when the inner call just finished

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.02)
    await stop_task(task, within_s=5)
    assert task.cancelled() and swallowed == [True]


async def test_a_task_that_never_stops_is_given_up_on_with_an_error_naming_it() -> None:
    released = asyncio.Event()

    async def stubborn() -> None:
        while not released.is_set():
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0.02)
    with pytest.raises(RuntimeError, match="stubborn did not stop within 1 s"):
        await stop_task(task, within_s=1)
    assert not task.done()
    released.set()  # leave nothing running behind
    await task


async def test_a_task_that_failed_passes_its_error_on() -> None:
    async def broken() -> None:
        raise ValueError("no replica")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="no replica"):
        await stop_task(task)
