"""Reads from the availability read model, as ratios to ``/healthz`` on the same worker and
client, once per event loop (asyncio, uvloop): the seat map of the biggest zone (verbose and
compact, gzip accepted), the zone list, and a 304 revalidation of the seat map.

``/healthz`` is measured right before and right after each read, and the read's ratio is to
their mean, so a machine whose load drifts during the run (other work on two shared cores)
moves the baseline with it. One worker: the ratios say what a read costs next to the
cheapest request the service has, not how many workers there are.
"""

from __future__ import annotations

import urllib.request

from scenarios.bench.context import BenchContext
from scenarios.bench.http_load import LoadResult
from scenarios.bench.lab import RunningService
from scenarios.bench.registry import measurement
from scenarios.bench.rows import Row
from service.config import EVENT_LOOPS

NAME = "reads"
GZIP = {"Accept-Encoding": "gzip"}
TARGETS = {"seat map": 0.3, "seat map, compact": 0.3, "zones": 0.5, "seat map, 304": 0.7}


def biggest_zone(ctx: BenchContext) -> tuple[int, str]:
    """A venue like the seed's (43,000 seats; a few rows per zone at ``tiny``) and its
    biggest zone, the one a seat map costs most to serve."""
    rows = None if ctx.size.name == "default" else ctx.size.rows
    seats_per_row = 100 if ctx.size.name == "default" else 20
    venue = ctx.lab.seed(zones=26, rows=rows or 20, seats_per_row=seats_per_row, ticket_limit=4)
    return venue.concert_id, "M"


def etag_of(url: str) -> str:
    request = urllib.request.Request(url, headers=GZIP)
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
        return answer.headers["ETag"]


def reads_of(concert_id: int, zone: str) -> dict[str, tuple[str, dict[str, str]]]:
    seats = f"/api/v1/concerts/{concert_id}/zones/{zone}/seats"
    return {
        "seat map": (seats, GZIP),
        "seat map, compact": (seats + "?form=compact", GZIP),
        "zones": (f"/api/v1/concerts/{concert_id}/zones", GZIP),
        "seat map, 304": (seats, GZIP),  # If-None-Match added once the ETag is known
    }


def measure_reads(
    ctx: BenchContext, service: RunningService, loop: str, concert_id: int, zone: str
) -> list[Row]:
    size = ctx.size

    def get(path: str, headers: dict[str, str]) -> LoadResult:
        return ctx.load.get(
            service.url,
            path,
            headers=headers,
            duration_s=size.duration_s,
            connections=size.connections,
            threads=size.threads,
        )

    rows = []
    for label, (path, headers) in reads_of(concert_id, zone).items():
        if label.endswith("304"):
            headers = {**headers, "If-None-Match": etag_of(service.url + path)}
        else:
            get(path, headers)  # warm: the first request reads the layout and the statuses
        before = get("/healthz", {})
        read = get(path, headers)
        after = get("/healthz", {})
        healthz = (before.rate() + after.rate()) / 2
        wanted = "status_304" if label.endswith("304") else "status_200"
        rows.append(
            Row(
                NAME,
                f"{label} ({loop})",
                read.rate(),
                baseline=healthz,
                baseline_name="/healthz, same worker and client",
                notes=(
                    f"p50 {read.p50_ms or 0:.1f} ms; {wanted} {read.counts.get(wanted, 0)}"
                    f" of {read.requests}; /healthz {before.rate():,.0f} then"
                    f" {after.rate():,.0f}/s; target ≥ {TARGETS[label]}×;"
                    f" {read.generator} -t{size.threads} -c{size.connections}"
                ),
                extra={
                    "loop": loop,
                    "read": label,
                    "path": path,
                    "target_ratio": TARGETS[label],
                    "counts": read.counts,
                    "errors": read.errors,
                    "healthz": [before.rate(), after.rate()],
                },
            )
        )
    return rows


@measurement(NAME, "seat map, compact, zones, 304 per event loop, ratio to /healthz")
def measure(ctx: BenchContext) -> list[Row]:
    ctx.lab.reset()
    concert_id, zone = biggest_zone(ctx)
    rows: list[Row] = []
    for loop in EVENT_LOOPS:
        with ctx.lab.service(f"{NAME}-{loop}", event_loop=loop) as service:
            rows += measure_reads(ctx, service, loop, concert_id, zone)
    return rows
