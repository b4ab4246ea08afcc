"""Routed reads: the seat map, zones, concerts and a member's own reservations go where the
read policy says, and answer with where they came from and how stale they may be.

With the availability read model on (``TICKETLAB_READ_MODEL``), seat maps, zones and the
concert list come from the worker's read model instead (``browser_for``): it answers
``cache`` with its own age, whatever the policy; the policy still routes a single concert
and a member's reservations. With it off, they are read from the database the policy picks.

Claims and payments never come here: they read and write the primary, always. A read that
waits for the replica (read-your-writes) waits at most ``wait_timeout_s`` and then reads the
primary, so a lagging replica costs a member time, never their own write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from service.domain.reads import PRIMARY_READ, Freshness, ReadPolicy, ReadSource, route
from service.domain.reservations import Reservation
from service.read_ports import Availability, ReadStores, ReplicaLag, WriteMarks


@dataclass(frozen=True)
class ReadDeps:
    policy: ReadPolicy
    max_staleness_ms: int
    wait_timeout_s: float
    primary: ReadStores
    replica: ReadStores
    lag: ReplicaLag
    writes: WriteMarks
    read_model: Availability | None = None  # the worker's read model, when it is on


@dataclass(frozen=True)
class Reader:
    """Where one read goes, and what it will answer about itself."""

    stores: ReadStores
    freshness: Freshness


async def reader_for(deps: ReadDeps, member_id: int | None) -> Reader:
    """The stores one read of ``member_id`` (None: anonymous) should use, now."""
    if deps.policy is ReadPolicy.PRIMARY:
        return Reader(deps.primary, PRIMARY_READ)
    last_write = None
    if deps.policy is ReadPolicy.READ_YOUR_WRITES and member_id is not None:
        last_write = await deps.writes.last(member_id)
    decision = route(deps.policy, deps.lag.lag_ms(), deps.max_staleness_ms, last_write)
    if not decision.replica:
        return Reader(deps.primary, PRIMARY_READ)
    if decision.wait_for is not None and not await deps.lag.reached(
        decision.wait_for, deps.wait_timeout_s
    ):
        return Reader(deps.primary, PRIMARY_READ)
    return Reader(deps.replica, Freshness(ReadSource.REPLICA, None, deps.lag.lag_ms() or 0))


CACHED = Freshness(ReadSource.CACHE, None, 0)  # the read model says its own age


async def browser_for(deps: ReadDeps, member_id: int | None) -> Reader:
    """Where a seat map, zones or concert list read goes: the read model when it is on,
    else where the policy routes."""
    if deps.read_model is not None:
        return Reader(replace(deps.primary, availability=deps.read_model), CACHED)
    return await reader_for(deps, member_id)


def answered(reader: Reader, freshness: Freshness) -> Freshness:
    """What a read answers about itself: the read model's own freshness (source cache), or
    the database read's version with the source and age its routing knew."""
    if freshness.source == ReadSource.CACHE:
        return freshness
    return replace(reader.freshness, version=freshness.version)


async def wrote(deps: ReadDeps, member_id: int) -> None:
    """Remember a member's write, where their next reads must see it."""
    if deps.policy is ReadPolicy.READ_YOUR_WRITES:
        await deps.writes.mark(member_id)


async def my_reservations(reader: Reader, member_id: int) -> list[Reservation]:
    async with reader.stores.uow() as uow:
        return await uow.reservations.of_member(member_id)
