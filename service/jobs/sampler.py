"""The telemetry sampler: the request pool's gauges, the event loop's lag and the garbage
collector's collections, twice a second.

A loop blocked by synchronous work shows up as lag: the sampler's own sleep ends late.
Collections are the worker's own (``gc.get_stats``), so the lab can set a worker's
growing memory against whether its collector still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc

from service import metrics
from service.adapters.db import Database

SAMPLE_INTERVAL_S = 0.5


def sample_pool(db: Database) -> None:
    metrics.db_pool_size.set(db.size)
    metrics.db_pool_in_use.set(db.in_use)
    metrics.db_pool_waiting.set(db.waiting)
    metrics.db_pool_max.set(db.max_size)


def sample_gc() -> None:
    for generation, stats in enumerate(gc.get_stats()):
        metrics.gc_collections.labels(generation=str(generation)).set(stats["collections"])


class Sampler:
    def __init__(self, db: Database, *, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.db = db
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="telemetry-sampler")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            metrics.event_loop_lag.set(max(0.0, loop.time() - expected))
            sample_pool(self.db)
            sample_gc()
