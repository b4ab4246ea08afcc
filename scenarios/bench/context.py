"""What a measurement is given: the size of the run, the lab, the load generator, the output."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scenarios.bench.http_load import HttpLoad
from scenarios.bench.lab import BenchLab


@dataclass(frozen=True)
class Size:
    """How long and how wide each load run is. ``tiny`` only proves the plumbing (tests use
    it); ``default`` is what the numbers in notes come from."""

    name: str
    duration_s: float  # of each timed load run
    connections: int  # concurrent clients, HTTP or SQL alike
    threads: int  # wrk threads (the generator's processes)
    members: int  # signed-in members the clients act as
    rows: int  # rows per zone of the bench venue (4 zones × rows × 50 seats)


SIZES = {
    "tiny": Size("tiny", duration_s=1.0, connections=4, threads=1, members=16, rows=2),
    "default": Size("default", duration_s=8.0, connections=32, threads=2, members=256, rows=10),
}


@dataclass
class BenchContext:
    size: Size
    lab: BenchLab
    load: HttpLoad
    out: Path
    log: Callable[[str], None] = print
