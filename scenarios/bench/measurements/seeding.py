"""Seeding the seed's arena: 43,000 seats of one concert (every zone, row and seat, with the
zone versions the read model needs), in seats per second. ``tiny`` seeds a few rows only.

There is no baseline to divide by: what matters is the time a scenario waits before its
load starts, and that it stays seconds, not minutes.
"""

from __future__ import annotations

import time

from scenarios.bench.context import BenchContext
from scenarios.bench.registry import measurement
from scenarios.bench.rows import Row, per_second
from service.domain.venue import capacity, venue_layout

NAME = "seeding"


@measurement(NAME, "seats seeded per second (the 43,000-seat arena)")
def measure(ctx: BenchContext) -> list[Row]:
    rows = None if ctx.size.name == "default" else ctx.size.rows
    seats = capacity(venue_layout(26, 100, rows))
    began = time.perf_counter()
    venue = ctx.lab.seed(zones=26, rows=rows or 20, seats_per_row=100, ticket_limit=4)
    seconds = time.perf_counter() - began
    if len(venue.seat_ids) != seats:
        raise RuntimeError(f"seeded {len(venue.seat_ids)} seats, expected {seats}")
    return [
        Row(
            NAME,
            f"{seats:,} seats, one concert",
            per_second(seats, seconds),
            notes=f"{seconds:.2f} s in all (multi-row INSERTs of 2,000)",
            extra={"seats": seats, "seconds": seconds},
        )
    ]
