"""Hold-and-release pairs per second over HTTP, per claim strategy, as a ratio to the bare
SQL of a pair (``bare_sql.py``) at the same concurrency: uncontended (each client a random
seat of many) and hot-spot (every client after a handful of seats). Beside each, the
statements one hold, release, reservation and confirm send, and in how many round trips
(``statements.py``).

A pair is a granted hold (201) followed by its release (200); refusals (409) on the hot
spot are counted beside. The members sign nothing in: their tokens are minted with the
service's secret (``BenchLab.members``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from scenarios.bench import bare_sql, statements
from scenarios.bench.context import BenchContext
from scenarios.bench.drivers import DRIVERS as DB_DRIVERS
from scenarios.bench.http_load import Fallback, LoadResult
from scenarios.bench.lab import Member, Venue
from scenarios.bench.registry import measurement
from scenarios.bench.rows import Row
from service.config import CLAIM_STRATEGIES, Settings

NAME = "holds"
TICKET_LIMIT = 4
PATTERNS = ("uncontended", "hot-spot")
BASELINE_DRIVER = "aiomysql"


def strategies_for(size: str) -> Sequence[str]:
    return ("conditional",) if size == "tiny" else CLAIM_STRATEGIES


def seats_for(pattern: str, venue: Venue, connections: int) -> list[int]:
    """Hot seats are the first few; uncontended clients pick among all the others, so what
    one pattern leaves held never touches the other's seats."""
    hot = max(2, connections // 8)
    return venue.seat_ids[:hot] if pattern == "hot-spot" else venue.seat_ids[hot:]


def write_members(path: Path, members: Sequence[Member]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{m.id} {m.token}\n" for m in members))
    return path


def pairs_fallback(
    base_url: str, members: Sequence[Member], concert_id: int, seats: Sequence[int]
) -> Fallback:
    """The wrk script's workload for machines without wrk: hold, then release, per client."""
    import random
    import time

    turn = iter(range(1 << 62))

    async def loop(
        session: aiohttp.ClientSession, deadline: float, counts: Counter[str], lat: list[float]
    ) -> None:
        rng = random.Random(next(turn))
        while time.monotonic() < deadline:
            member = members[next(turn) % len(members)]
            auth = {"Authorization": f"Bearer {member.token}"}
            began = time.perf_counter()
            async with session.post(
                f"{base_url}/api/v1/concerts/{concert_id}/holds",
                json={"seat_ids": [rng.choice(seats)]},
                headers=auth,
            ) as answer:
                body = await answer.json(content_type=None)
            lat.append(time.perf_counter() - began)
            if answer.status != 201:
                counts["refused" if answer.status == 409 else f"other_{answer.status}"] += 1
                continue
            counts["granted"] += 1
            began = time.perf_counter()
            async with session.delete(f"{base_url}/api/v1/holds/{body['id']}", headers=auth) as r:
                await r.read()
            lat.append(time.perf_counter() - began)
            counts["released" if r.status == 200 else f"other_{r.status}"] += 1

    return loop


def cpu_share(pid: int | None) -> tuple[float, float] | None:
    """(seconds on a CPU, seconds runnable but waiting for one) of process ``pid`` so far,
    from the kernel's ``/proc/<pid>/schedstat``; None where there is none.

    A worker that waits for a CPU most of the time is limited by the machine's load, not
    by its own code: the row's notes say how much of the run it got."""
    try:
        on_cpu, waiting, _slices = Path(f"/proc/{pid}/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def cpu_note(
    before: tuple[float, float] | None, after: tuple[float, float] | None, s: float
) -> str:
    if before is None or after is None or s <= 0:
        return ""
    on_cpu, waiting = (after[0] - before[0]) / s, (after[1] - before[1]) / s
    return f"; worker on a CPU {on_cpu:.0%} of the run, waiting for one {waiting:.0%}"


def http_pairs(
    ctx: BenchContext, url: str, members: Sequence[Member], venue: Venue, seats: Sequence[int]
) -> LoadResult:
    size = ctx.size
    members_file = write_members(ctx.out / "scripts" / "members.txt", members)
    try:
        return ctx.load.run(
            url,
            "hold_release",
            [str(members_file), str(venue.concert_id), str(min(seats)), str(max(seats))],
            pairs_fallback(url, members, venue.concert_id, seats),
            duration_s=size.duration_s,
            connections=size.connections,
            threads=size.threads,
        )
    finally:
        members_file.unlink(missing_ok=True)


def bare_pairs(
    ctx: BenchContext, driver: str, members: Sequence[Member], venue: Venue, seats: Sequence[int]
) -> bare_sql.BareResult:
    return asyncio.run(
        bare_sql.run_pairs(
            ctx.lab.base,
            driver=driver,
            members=[m.id for m in members],
            concert_id=venue.concert_id,
            seat_ids=seats,
            connections=ctx.size.connections,
            duration_s=ctx.size.duration_s,
        )
    )


def outcome_note(counts: dict[str, int], seconds: float, extra: str = "") -> str:
    granted = counts.get("granted", 0) / seconds if seconds > 0 else 0.0
    others = {k: v for k, v in counts.items() if k not in ("granted", "released", "refused")}
    parts = [f"granted {granted:,.0f}/s", f"refused {counts.get('refused', 0)}"]
    if others:
        parts.append("other " + ", ".join(f"{k}={v}" for k, v in sorted(others.items())))
    return "; ".join(parts + ([extra] if extra else []))


def service_runs(size: str) -> list[tuple[str, str]]:
    """(strategy, driver) pairs: every strategy on the default driver, and ``conditional``
    on each other driver too, so the driver choice is measured where it matters most."""
    default = Settings().db_driver
    runs = [(strategy, default) for strategy in strategies_for(size)]
    runs += [("conditional", driver) for driver in DB_DRIVERS if driver != default]
    return runs


def bare_rows(
    ctx: BenchContext, members: Sequence[Member], venue: Venue
) -> tuple[list[Row], dict[tuple[str, str], float]]:
    """The bare-SQL pair on each driver and pattern; rates by (driver, pattern)."""
    rows, rates = [], {}
    for driver in DB_DRIVERS:
        for pattern in PATTERNS:
            seats = seats_for(pattern, venue, ctx.size.connections)
            bare = bare_pairs(ctx, driver, members, venue, seats)
            rates[driver, pattern] = bare.rate("released")
            note = f"{ctx.size.connections} connections"
            rows.append(
                Row(
                    NAME,
                    f"bare SQL ({driver}), {pattern}",
                    rates[driver, pattern],
                    notes=outcome_note(bare.counts, bare.seconds, note),
                    extra={
                        "pattern": pattern,
                        "driver": driver,
                        "counts": bare.counts,
                        "seconds": bare.seconds,
                    },
                )
            )
            ctx.lab.reset()
    return rows, rates


@measurement(NAME, "hold+release pairs/s per strategy and driver, ratio to bare SQL (aiomysql)")
def measure(ctx: BenchContext) -> list[Row]:
    """Every service row's baseline is the bare pair on aiomysql, as issue 16 defined it;
    its notes give the ratio to the bare pair on the service's own driver as well."""
    lab, size = ctx.lab, ctx.size
    lab.reset()
    venue = lab.seed(zones=4, rows=size.rows, seats_per_row=50, ticket_limit=TICKET_LIMIT)
    members = lab.members(max(size.members, TICKET_LIMIT * size.connections))
    rows, bare = bare_rows(ctx, members, venue)
    for strategy, driver in service_runs(size.name):
        lab.reset()
        overrides = {"claim_strategy": strategy, "db_driver": driver}
        counted = asyncio.run(
            statements.per_operation(
                dataclasses.replace(lab.base, **overrides), venue.concert_id, venue.seat_ids[-2:]
            )
        )
        lab.reset()
        per_op = ", ".join(f"{op} {n.total} ({n.round_trips})" for op, n in counted.items())
        with lab.service(f"{NAME}-{strategy}-{driver}", **overrides) as service:
            for pattern in PATTERNS:
                seats = seats_for(pattern, venue, size.connections)
                before = cpu_share(service.pid)
                result = http_pairs(ctx, service.url, members, venue, seats)
                cpu = cpu_note(before, cpu_share(service.pid), result.seconds)
                rate = result.rate("released")
                same = bare[driver, pattern]
                note = outcome_note(
                    result.counts,
                    result.seconds,
                    f"{rate / same if same else 0:.2f}× bare {driver};"
                    f" p50 {result.p50_ms or 0:.1f} ms; {result.generator} -c{size.connections};"
                    f" statements (round trips): {per_op}{cpu}",
                )
                rows.append(
                    Row(
                        NAME,
                        f"{strategy} ({driver}), {pattern}",
                        rate,
                        baseline=bare[BASELINE_DRIVER, pattern],
                        baseline_name=f"bare SQL ({BASELINE_DRIVER})",
                        notes=note,
                        extra={
                            "pattern": pattern,
                            "strategy": strategy,
                            "driver": driver,
                            "generator": result.generator,
                            "counts": result.counts,
                            "requests": result.requests,
                            "errors": result.errors,
                            "seconds": result.seconds,
                            "statements": {op: n.total for op, n in counted.items()},
                            "round_trips": {op: n.round_trips for op, n in counted.items()},
                        },
                    )
                )
    lab.reset()
    return rows
