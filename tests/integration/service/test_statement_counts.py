"""Statements per hold, reservation, release and confirm, under every claim strategy,
counted by MariaDB on the one connection the operation runs on (``scenarios/bench/statements``).

Statements and the round trips they travel in are on the request's critical path, so a
change that adds either fails here and has to say why (and one that saves one updates the
number). The counts are the whole transaction, COMMIT included; before issue 16 they were
hold 11 (pessimistic 13, optimistic 12), release 9, reservation 7, confirm 6, each
statement a round trip of its own. Round trips are counted on the client
(``scenarios/bench/statements.py``); several statements share one where
``service/adapters/round_trips.py`` batches or defers them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from scenarios.bench.statements import Statements, count_statements, one_connection
from service import schema
from service.adapters.db import Database
from service.bootstrap import booking_deps
from service.config import CLAIM_STRATEGIES, Settings
from service.domain.venue import venue_layout
from service.usecases.holds import BookingDeps, place_hold, release_hold, reserve_hold
from tests.integration.service.test_holds_usecase import RecordingScheduler, create_members

# (statements, round trips) of one operation on two seats; the Redis strategies add no SQL
# of their own. Each operation that changes a seat ends with the read model's zone-version
# bump (``service/adapters/zone_versions.py``), one statement riding with the COMMIT when
# the operation's own reads found the seats' zones (hold, release, reservation), two when
# it has to look them up (confirm).
# hold: member lock + claim context | holds row + seat update | seat rows, event, bump,
# COMMIT; pessimistic locks the seats in a round trip of its own, optimistic updates each
# seat (two here) with the holds row.
HOLD = dict.fromkeys(CLAIM_STRATEGIES, (8, 3)) | {"pessimistic": (9, 4), "optimistic": (9, 3)}
# hold row (locked) + its seat rows | seats freed, hold and seat rows marked, event, bump,
# COMMIT.
RELEASE = (7, 2)
# hold row + seat rows | hold converted | seats reserved | reservation row | bump, COMMIT.
RESERVATION = (7, 5)
# the confirm's reads and writes one by one, then the seats' zones looked up, and the bump
# with the COMMIT.
CONFIRM = (7, 6)


@pytest.fixture(scope="module")
async def counted(settings: Settings) -> AsyncIterator[Database]:
    async with one_connection(settings) as db:
        yield db


@pytest.fixture(scope="module")
def concert(settings: Settings) -> int:
    layout = venue_layout(zones=1, seats_per_row=50, max_rows=2)
    return schema.seed(settings, layout=layout, ticket_limit=10).concert_ids[0]


async def free_seats(db: Database, concert_id: int, n: int) -> list[int]:
    rows = await db.fetch_all(
        "SELECT id FROM seats WHERE concert_id = %s AND status = 'AVAILABLE' ORDER BY id LIMIT %s",
        (concert_id, n),
    )
    return [row["id"] for row in rows]


def deps_of(strategy: str, settings: Settings, db: Database, redis: aioredis.Redis) -> BookingDeps:
    return booking_deps(replace(settings, claim_strategy=strategy), db, redis, RecordingScheduler())


def report(strategy: str, operation: str, statements: Statements) -> str:
    return (
        f"{strategy} {operation}: {statements.total} statements {statements.by_kind}"
        f" in {statements.round_trips} round trips"
    )


def counts(statements: Statements) -> tuple[int, int]:
    return statements.total, statements.round_trips


@pytest.mark.parametrize("strategy", CLAIM_STRATEGIES)
async def test_statements_per_operation(
    strategy: str, settings: Settings, counted: Database, redis_client: aioredis.Redis, concert: int
) -> None:
    deps = deps_of(strategy, settings, counted, redis_client)
    (member,) = await create_members(counted, 1)
    seats = await free_seats(counted, concert, 2)

    hold, held = await count_statements(counted, lambda: place_hold(deps, member, concert, seats))
    print(report(strategy, "hold", held))
    _, released = await count_statements(counted, lambda: release_hold(deps, member, hold.id))
    print(report(strategy, "release", released))
    again = await place_hold(deps, member, concert, seats)
    reservation, reserved = await count_statements(
        counted, lambda: reserve_hold(deps, member, again.id)
    )
    print(report(strategy, "reservation", reserved))

    async def confirm() -> bool:
        async with deps.uow() as uow:
            done = await uow.reservations.confirm(reservation, deps.clock.now())
            await uow.commit()
        return done

    confirmed, confirming = await count_statements(counted, confirm)
    print(report(strategy, "confirm", confirming))

    assert confirmed
    assert counts(held) == HOLD[strategy], report(strategy, "hold", held)
    assert counts(released) == RELEASE, report(strategy, "release", released)
    assert counts(reserved) == RESERVATION, report(strategy, "reservation", reserved)
    assert counts(confirming) == CONFIRM, report(strategy, "confirm", confirming)
