"""What watching costs: the same seat-map load on one worker with the lab's observers off and
on (the resource sampler on the service's process tree and the machine, and ``/metrics``
scraped each second, as a scenario runs them), as a ratio on/off; and how many operations
per second the history recorder (``scenarios/load/recorder.py``) writes, next to the load's
own request rate, which it must keep up with from inside the generator.

Off and on alternate (off, on, off, on) and each side is the mean of its two runs, so a
machine whose load drifts meanwhile does not pass for the observers' cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from profiling.sampler import ProcessSampler
from scenarios.bench.context import BenchContext
from scenarios.bench.lab import RunningService
from scenarios.bench.measurements.reads import GZIP, biggest_zone
from scenarios.bench.registry import measurement
from scenarios.bench.rows import Row, per_second
from scenarios.history import Operation, Outcome
from scenarios.load.recorder import Recorder
from scenarios.scrape import scrape_forever

NAME = "lab-overhead"
RECORDED = 200_000


@contextlib.contextmanager
def observed(service: RunningService, out: Path) -> Iterator[None]:
    """The sampler and the scraper running beside whatever the block does."""
    sampler = ProcessSampler({"service": service.pid} if service.pid else {})
    loop = asyncio.new_event_loop()
    scraper = loop.create_task(scrape_forever(service.url, out / "metrics.jsonl"))

    def scrape() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # how it is told to stop
            loop.run_until_complete(scraper)

    thread = threading.Thread(target=scrape, daemon=True)
    sampler.start()
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(scraper.cancel)
        thread.join(10)
        loop.close()
        sampler.stop()


def recorder_rate(path: Path, count: int) -> float:
    """Operations per second the recorder takes in and writes out, flushes included."""
    op = Operation("seat_map", "bench", 1.0, 1.1, Outcome.OK, status=200, read_source="cache")
    recorder = Recorder(path)
    began = time.perf_counter()
    for _ in range(count):
        recorder.add(op)
    recorder.flush()
    seconds = time.perf_counter() - began
    path.unlink(missing_ok=True)
    return per_second(count, seconds)


@measurement(NAME, "seat-map load with the sampler and scraper on vs off; recorder ops/s")
def measure(ctx: BenchContext) -> list[Row]:
    size = ctx.size
    ctx.lab.reset()
    concert_id, zone = biggest_zone(ctx)
    path = f"/api/v1/concerts/{concert_id}/zones/{zone}/seats?form=compact"
    rates: dict[str, list[float]] = {"off": [], "on": []}
    with ctx.lab.service(NAME) as service:

        def load() -> float:
            return ctx.load.get(
                service.url,
                path,
                headers=GZIP,
                duration_s=size.duration_s,
                connections=size.connections,
                threads=size.threads,
            ).rate()

        load()  # warm
        for _ in range(2):
            rates["off"].append(load())
            with observed(service, ctx.out):
                rates["on"].append(load())
    off, on = (sum(rates[k]) / len(rates[k]) for k in ("off", "on"))
    recorded = RECORDED if size.name == "default" else RECORDED // 20
    recorder = recorder_rate(ctx.out / "recorder-bench.jsonl", recorded)
    return [
        Row(
            NAME,
            "seat map, sampler + scraper on",
            on,
            baseline=off,
            baseline_name="the same load, observers off",
            notes=(
                f"on {', '.join(f'{r:,.0f}' for r in rates['on'])}/s; off"
                f" {', '.join(f'{r:,.0f}' for r in rates['off'])}/s; {ctx.load.generator}"
                f" -c{size.connections}"
            ),
            extra={"on": rates["on"], "off": rates["off"]},
        ),
        Row(
            NAME,
            "history recorder",
            recorder,
            baseline=off,
            baseline_name="the load's request rate",
            notes=f"{recorded:,} operations recorded and flushed to operations.jsonl",
            extra={"operations": recorded},
        ),
    ]
