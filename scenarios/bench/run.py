"""One bench run: the selected measurements in turn, their rows written as they come.

A measurement that fails is recorded under ``errors`` with its message and the others
still run; the run's files are rewritten after each measurement, so an interrupted run
keeps what it measured.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scenarios.bench import output
from scenarios.bench.context import BenchContext
from scenarios.bench.registry import Measurement
from scenarios.bench.rows import Row
from scenarios.rundir import unique_dir


@dataclass
class BenchResult:
    out: Path
    rows: list[Row] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    markdown: str = ""


def new_bench_dir(runs_dir: Path, now: datetime | None = None) -> Path:
    moment = now or datetime.now(UTC)
    return unique_dir(runs_dir / f"bench-{moment.strftime('%Y%m%dT%H%M%SZ')}")


def run_bench(
    measurements: Sequence[Measurement], ctx: BenchContext, header: dict[str, Any]
) -> BenchResult:
    result = BenchResult(ctx.out)
    header = {
        **header,
        "size": ctx.size.name,
        "generator": ctx.load.generator,
        "measurements": [m.name for m in measurements],
    }
    for measurement in measurements:
        ctx.log(f"bench: {measurement.name} ({measurement.description})")
        try:
            result.rows.extend(measurement.measure(ctx))
        except Exception as exc:
            result.errors[measurement.name] = f"{type(exc).__name__}: {exc}"
            (ctx.out / f"{measurement.name}.error.txt").write_text(traceback.format_exc())
            ctx.log(f"bench: {measurement.name} failed: {result.errors[measurement.name]}")
        result.markdown = output.write(ctx.out, header, result.rows, result.errors)
    return result
