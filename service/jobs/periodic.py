"""The periodic-job loop: one background task that ticks until it is closed.

The sweeper, the reconciler and the outbox relay are each one ``tick`` (claim a batch,
work through it, say how much was done) around this one loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod

from service.domain.errors import Contention
from service.jobs.tasks import stop_task

log = logging.getLogger(__name__)

# Spread the ticks of N workers a little, so they do not all scan in the same instant.
JITTER = 0.2


def jittered(seconds: float) -> float:
    """``seconds`` ± 20 %."""
    return seconds * random.uniform(1 - JITTER, 1 + JITTER)


class PeriodicJob(ABC):
    """Runs ``tick`` every ``interval_s`` (jittered) in a background task.

    A tick that did a full ``batch`` is followed at once by the next, so a backlog drains
    without waiting for the timer. Contention is logged and the next tick tries again; any
    other error is logged, counted in ``failed_ticks`` and retried after
    ``retry_after_s(failures)``. ``start()`` does nothing when the job is not ``enabled``
    (a scenario switches one off to measure the others alone); the task ends only when
    ``close()`` cancels it.
    """

    name = "job"

    def __init__(self, *, interval_s: float, batch: int, enabled: bool = True) -> None:
        self.interval_s = interval_s
        self.batch = batch
        self.enabled = enabled
        self.failed_ticks = 0
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def tick(self) -> int:
        """Do one batch of work; how many items it handled."""

    async def idle(self) -> None:  # noqa: B027 (optional hook)
        """Called when a tick found less than a full batch, before the job sleeps."""

    def retry_after_s(self, failures: int) -> float:
        """The pause after the ``failures``-th failed tick in a row."""
        return jittered(self.interval_s)

    def log_failure(self, exc: Exception, failures: int) -> None:
        log.error("%s: tick failed; trying again", self.name, exc_info=exc)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.enabled:
            log.info("%s disabled", self.name)
            return
        if not self.running:
            self._task = asyncio.create_task(self._run(), name=f"ticketlab-{self.name}")

    async def close(self) -> None:
        """Cancels the loop, again if a cancellation was lost; one that still runs after
        ``STOP_WITHIN_S`` is abandoned with an error in the log, so a shutdown never hangs."""
        task, self._task = self._task, None
        try:
            await stop_task(task)
        except Exception:
            log.error("%s: did not stop cleanly", self.name, exc_info=True)

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                done = await self.tick()
                failures = 0
            except Contention as exc:
                log.info("%s: contended (%s); trying again next tick", self.name, exc.reason)
                done = 0
            except Exception as exc:
                failures += 1
                self.failed_ticks += 1
                self.log_failure(exc, failures)
                await asyncio.sleep(self.retry_after_s(failures))
                continue
            if done < self.batch:
                await self.idle()
                await asyncio.sleep(jittered(self.interval_s))
