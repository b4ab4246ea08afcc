"""The periodic-job loop (sweeper, reconciler, outbox relay) stops when closed, even when
its tick swallows the cancellation: a worker's shutdown and the tests never hang on it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from service.jobs import periodic
from service.jobs.periodic import PeriodicJob


class Ticking(PeriodicJob):
    name = "ticking"

    def __init__(self, swallow: int) -> None:
        super().__init__(interval_s=0.01, batch=10)
        self.swallow = swallow
        self.ticks = 0

    async def tick(self) -> int:
        self.ticks += 1
        try:
            await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            if self.swallow <= 0:
                raise
            self.swallow -= 1  # as 3.11's wait_for does when its inner call just finished
        return 0


async def test_close_stops_a_job_whose_tick_swallowed_a_cancellation() -> None:
    job = Ticking(swallow=1)
    await job.start()
    await asyncio.sleep(0.05)
    await job.close()
    assert not job.running
    assert job.swallow == 0


async def test_a_job_that_never_stops_is_abandoned_with_an_error_instead_of_hanging_close(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    job = Ticking(swallow=10**9)
    monkeypatch.setattr(periodic, "stop_task", _quick_stop)
    await job.start()
    task = job._task
    await asyncio.sleep(0.03)
    with caplog.at_level(logging.ERROR):
        await job.close()
    assert "ticking: did not stop cleanly" in caplog.text
    assert task is not None and not task.done()
    job.swallow = 0  # leave nothing running behind
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _quick_stop(task: asyncio.Task[None] | None) -> None:
    from service.jobs.tasks import stop_task

    await stop_task(task, within_s=0.5)
