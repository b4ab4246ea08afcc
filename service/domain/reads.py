"""Where a read goes under the read policy, and what it answers about its freshness.

A replica is cheaper to read and always a little behind; how far is its heartbeat lag (now
minus the newest heartbeat stamp the replica has, as pt-heartbeat measures it). The read
policy trades freshness for load on the primary:

- ``primary``: every read on the primary: fresh, and all the load there.
- ``replica``: every read on the replica, however far behind it is: a seat shown free may
  have been taken seconds ago, and the buyer learns it from a 409.
- ``bounded-staleness``: the replica while its lag is known and under the bound, else the
  primary (an unknown lag is not a small one).
- ``read-your-writes``: the replica, except that a member who wrote recently must see their
  write: the read first waits (bounded) for the replica to reach the write's GTID position,
  and goes to the primary if it does not get there in time.

This is the pure decision; waiting and reading are the use case's and the adapters' work.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ReadPolicy(enum.StrEnum):
    PRIMARY = "primary"
    REPLICA = "replica"
    BOUNDED_STALENESS = "bounded-staleness"
    READ_YOUR_WRITES = "read-your-writes"


class ReadSource(enum.StrEnum):
    """Where an answer came from: the spellings of the ``X-Read-Source`` header."""

    CACHE = "cache"
    PRIMARY = "primary"
    REPLICA = "replica"


@dataclass(frozen=True)
class Freshness:
    """What a read answers about itself (the ``X-Read-*`` headers), what the lab counts
    stale reads by: its ``source``; its ``version`` where what it read has one (a zone's
    version, a sum of them for a zone list); and ``age_ms``, how long ago the data may have
    been current: the replica's heartbeat lag at the time of the read, the time since a
    worker's read model last saw that version current, 0 on the primary."""

    source: str
    version: int | None
    age_ms: int


PRIMARY_READ = Freshness(ReadSource.PRIMARY, None, 0)


@dataclass(frozen=True)
class Route:
    """The decision for one read: ``replica`` or not, and a GTID position the replica must
    reach before it may answer (read-your-writes after a write)."""

    replica: bool
    wait_for: str | None = None


TO_PRIMARY = Route(replica=False)
TO_REPLICA = Route(replica=True)
# A member's latest write that cannot be looked up: treated as one the replica may lack.
WRITE_UNKNOWN = "unknown"


def route(
    policy: ReadPolicy, lag_ms: int | None, max_staleness_ms: int, last_write: str | None
) -> Route:
    """Where one read goes. ``lag_ms`` is None when the lag is unknown (no heartbeat seen
    yet, the replica unreachable); ``last_write`` is the reader's latest write's GTID
    position when it still matters (read-your-writes only), ``WRITE_UNKNOWN`` when it could
    not be looked up."""
    if policy is ReadPolicy.PRIMARY:
        return TO_PRIMARY
    if policy is ReadPolicy.BOUNDED_STALENESS:
        fresh_enough = lag_ms is not None and lag_ms < max_staleness_ms
        return TO_REPLICA if fresh_enough else TO_PRIMARY
    if policy is ReadPolicy.READ_YOUR_WRITES and last_write == WRITE_UNKNOWN:
        return TO_PRIMARY
    if policy is ReadPolicy.READ_YOUR_WRITES and last_write:
        return Route(replica=True, wait_for=last_write)
    return TO_REPLICA
