"""Building a run's HTML report from a run directory of 1,000,000 operations, in operations
per second (``reports.synthetic`` writes the directory; only the build is timed).

A long soak writes millions of operations: the report has to stay a matter of seconds.
``tiny`` builds one of 10,000 operations.
"""

from __future__ import annotations

import shutil
import time

from reports.build import build_report
from reports.synthetic import demo_run
from scenarios.bench.context import BenchContext
from scenarios.bench.registry import measurement
from scenarios.bench.rows import Row, per_second

NAME = "report"


@measurement(NAME, "operations per second a report is built from (1,000,000 operations)")
def measure(ctx: BenchContext) -> list[Row]:
    ops = 1_000_000 if ctx.size.name == "default" else 10_000
    run_dir = demo_run(ctx.out / "synthetic-run", n_ops=ops, variants=("synthetic",))
    try:
        began = time.perf_counter()
        page = build_report(run_dir)
        seconds = time.perf_counter() - began
        size_mb = page.stat().st_size / 1e6
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return [
        Row(
            NAME,
            f"{ops:,} operations, one variant",
            per_second(ops, seconds),
            notes=f"{seconds:.1f} s to build a {size_mb:.1f} MB page (reports.synthetic's run)",
            extra={"operations": ops, "seconds": seconds, "page_mb": size_mb},
        )
    ]
