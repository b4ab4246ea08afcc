"""The bench's HTTP load: wrk where it is installed, an asyncio client otherwise.

The generator must not be what limits a measurement, so wrk (C, one event loop per thread)
is preferred; every result says which generator made it. A workload is a Lua script for
wrk (``wrk/NAME.lua``, with ``wrk/report.lua`` prepended: counters per thread, one JSON
line at the end) and, for machines without wrk, the same workload as an aiohttp coroutine
per connection (``Fallback``) counting into the same names.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import aiohttp

SCRIPTS = Path(__file__).parent / "wrk"
WRK_GRACE_S = 30.0

# One connection's loop until ``deadline`` (time.monotonic()): it counts outcomes into the
# Counter and appends each request's latency in seconds to the list.
Fallback = Callable[[aiohttp.ClientSession, float, Counter[str], list[float]], Awaitable[None]]


@dataclass(frozen=True)
class LoadResult:
    generator: str
    seconds: float
    requests: int
    errors: int  # sockets that failed, and answers outside 2xx/3xx
    p50_ms: float | None
    counts: dict[str, int] = field(default_factory=dict)

    def rate(self, counter: str | None = None) -> float:
        """Requests per second, or ``counter``'s count per second."""
        n = self.requests if counter is None else self.counts.get(counter, 0)
        return n / self.seconds if self.seconds > 0 else 0.0


def parse_wrk_report(output: str) -> dict[str, Any]:
    """The ``BENCH {...}`` line ``report.lua`` prints at the end of a wrk run."""
    for line in reversed(output.splitlines()):
        if line.startswith("BENCH "):
            return json.loads(line.removeprefix("BENCH "))
    raise RuntimeError("wrk printed no BENCH line:\n" + output[-2000:])


class HttpLoad:
    """``HttpLoad.detect()`` picks wrk if it is on the PATH; ``generator`` names the choice."""

    def __init__(self, wrk: str | None, work_dir: Path) -> None:
        self.wrk = wrk
        self.work_dir = work_dir
        self.generator = "wrk" if wrk else "aiohttp"

    @classmethod
    def detect(cls, work_dir: Path, *, prefer: str = "wrk") -> HttpLoad:
        return cls(shutil.which("wrk") if prefer == "wrk" else None, work_dir)

    def run(
        self,
        base_url: str,
        script: str,
        args: Sequence[str],
        fallback: Fallback,
        *,
        duration_s: float,
        connections: int,
        threads: int,
    ) -> LoadResult:
        """Run workload ``script`` (``wrk/<script>.lua``) against ``base_url``."""
        if self.wrk:
            return self._run_wrk(base_url, script, args, duration_s, connections, threads)
        return asyncio.run(_run_fallback(fallback, duration_s, connections))

    def get(
        self,
        url: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        duration_s: float,
        connections: int,
        threads: int,
    ) -> LoadResult:
        """GET ``path`` again and again; counts ``status_<code>``."""
        header_args = [f"{name}: {value}" for name, value in (headers or {}).items()]

        async def loop(
            session: aiohttp.ClientSession, deadline: float, counts: Counter[str], lat: list[float]
        ) -> None:
            while time.monotonic() < deadline:
                began = time.perf_counter()
                async with session.get(url + path, headers=headers) as answer:
                    await answer.read()
                lat.append(time.perf_counter() - began)
                counts[f"status_{answer.status}"] += 1

        return self.run(
            url,
            "get",
            [path, *header_args],
            loop,
            duration_s=duration_s,
            connections=connections,
            threads=threads,
        )

    def _run_wrk(
        self,
        base_url: str,
        script: str,
        args: Sequence[str],
        duration_s: float,
        connections: int,
        threads: int,
    ) -> LoadResult:
        threads = max(1, min(threads, connections))
        self.work_dir.mkdir(parents=True, exist_ok=True)
        combined = self.work_dir / f"{script}.lua"
        combined.write_text(
            f"wrk_threads = {threads}\n"
            + (SCRIPTS / "report.lua").read_text()
            + (SCRIPTS / f"{script}.lua").read_text()
        )
        argv = [
            str(self.wrk),
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--latency",
            "-s",
            str(combined),
            base_url,
            "--",
            *args,
        ]
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration_s + WRK_GRACE_S, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip()[-2000:]}")
        report = parse_wrk_report(done.stdout)
        return LoadResult(
            generator="wrk",
            seconds=int(report["duration_us"]) / 1e6,
            requests=int(report["requests"]),
            errors=int(report["socket_errors"]) + int(report["status_errors"]),
            p50_ms=int(report["p50_us"]) / 1000,
            counts={k: int(v) for k, v in report["counts"].items()},
        )


async def _run_fallback(fallback: Fallback, duration_s: float, connections: int) -> LoadResult:
    counts: Counter[str] = Counter()
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.monotonic()
        deadline = began + duration_s
        results = await asyncio.gather(
            *(fallback(session, deadline, counts, latencies) for _ in range(connections)),
            return_exceptions=True,
        )
        seconds = time.monotonic() - began
    errors = sum(1 for r in results if isinstance(r, BaseException))
    errors += sum(n for name, n in counts.items() if name.startswith("other_"))
    return LoadResult(
        generator="aiohttp",
        seconds=seconds,
        requests=len(latencies),
        errors=errors,
        p50_ms=median(latencies) * 1000 if latencies else None,
        counts=dict(counts),
    )
