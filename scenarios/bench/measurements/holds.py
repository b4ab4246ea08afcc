"""Hold-and-release pairs per second over HTTP, per claim strategy, as a ratio to the bare
SQL of a pair (``bare_sql.py``) at the same concurrency: uncontended (each client a random
seat of many) and hot-spot (every client after a handful of seats).

A pair is a granted hold (201) followed by its release (200); refusals (409) on the hot
spot are counted beside. The members sign nothing in: their tokens are minted with the
service's secret (``BenchLab.members``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from scenarios.bench import bare_sql
from scenarios.bench.context import BenchContext
from scenarios.bench.http_load import Fallback, LoadResult
from scenarios.bench.lab import Member, Venue
from scenarios.bench.registry import measurement
from scenarios.bench.rows import Row
from service.config import CLAIM_STRATEGIES

NAME = "holds"
TICKET_LIMIT = 4
PATTERNS = ("uncontended", "hot-spot")


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


@measurement(NAME, "hold+release pairs/s per strategy, ratio to bare SQL at equal concurrency")
def measure(ctx: BenchContext) -> list[Row]:
    lab, size = ctx.lab, ctx.size
    lab.reset()
    venue = lab.seed(zones=4, rows=size.rows, seats_per_row=50, ticket_limit=TICKET_LIMIT)
    members = lab.members(max(size.members, TICKET_LIMIT * size.connections))
    rows: list[Row] = []
    baseline: dict[str, float] = {}
    driver = "aiomysql"
    for pattern in PATTERNS:
        seats = seats_for(pattern, venue, size.connections)
        bare = bare_pairs(ctx, driver, members, venue, seats)
        baseline[pattern] = bare.rate("released")
        rows.append(
            Row(
                NAME,
                f"bare SQL ({driver}), {pattern}",
                baseline[pattern],
                notes=outcome_note(bare.counts, bare.seconds, f"{size.connections} connections"),
                extra={
                    "pattern": pattern,
                    "driver": driver,
                    "counts": bare.counts,
                    "seconds": bare.seconds,
                },
            )
        )
        lab.reset()
    for strategy in strategies_for(size.name):
        lab.reset()
        with lab.service(f"{NAME}-{strategy}", claim_strategy=strategy) as service:
            for pattern in PATTERNS:
                seats = seats_for(pattern, venue, size.connections)
                result = http_pairs(ctx, service.url, members, venue, seats)
                note = outcome_note(
                    result.counts,
                    result.seconds,
                    f"p50 {result.p50_ms or 0:.1f} ms; {result.generator} -c{size.connections}",
                )
                rows.append(
                    Row(
                        NAME,
                        f"{strategy}, {pattern}",
                        result.rate("released"),
                        baseline=baseline[pattern],
                        baseline_name=f"bare SQL ({driver})",
                        notes=note,
                        extra={
                            "pattern": pattern,
                            "strategy": strategy,
                            "generator": result.generator,
                            "counts": result.counts,
                            "requests": result.requests,
                            "errors": result.errors,
                            "seconds": result.seconds,
                        },
                    )
                )
    lab.reset()
    return rows
