"""replica-lag: seat maps read from a replica that falls 2 s, then 5 s behind, per read policy.

The seed's replication story. Moving reads to a replica takes load off the primary, and
buyers then see seat maps that are seconds old: a seat shown free was taken before the
read, the buyer tries to hold it, and gets a 409. The replication link is slowed through
the fault proxy (0 → 2 s → 0 → 5 s → 0; the lag shows in the heartbeat while
``Seconds_Behind_Master`` says 0), and each read policy is one variant:

- ``primary``: fresh maps, all reads on the primary (its CPU shows it);
- ``replica``: every read as stale as the replica;
- ``bounded-staleness`` (1 s): the replica until its lag passes the bound, then the primary;
- ``read-your-writes``: the replica, except a buyer's reads after their own hold wait for it
  (at most 1 s) or go to the primary.

The availability read model is off (``read_model: False``): with it on, seat maps come
from each worker's memory (``X-Read-Source: cache``) whatever the policy, and the policies
would only route concerts and reservations. ``summary.json``'s ``reads`` counts, per
variant and fault window, the seats maps showed free that were already taken on the
primary and the 409s that followed (``scenarios/reads.py``); ``lag.csv`` and the report's
lag panel show both lag measures with the fault windows shaded.
"""

from scenarios.checks.slo import Slo
from scenarios.spec import SERVICE_INVARIANTS, Fault, Scenario, Variant, Venue

POLICIES = ("primary", "replica", "bounded-staleness", "read-your-writes")

SCENARIO = Scenario(
    name="replica-lag",
    description=(
        "Seat maps from a replica 2 s then 5 s behind, per read policy: stale reads and the "
        "409s that follow, lag by heartbeat and Seconds_Behind_Master, the primary's CPU."
    ),
    settings={
        "read_model": False,  # seat maps from the database the policy picks, not a cache
        "hold_ttl_s": 8,
        "sweeper_interval_s": 1,
        "max_staleness_ms": 1000,
        "read_wait_timeout_s": 1.0,
    },
    workers=2,
    venue=Venue(zones=2, rows=2, seats_per_row=20),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.1, 0.3],
        "abandon": {"hold": 0.6, "reservation": 0.6},
        "warmup_s": 3,
        "request_timeout_s": 10,
        "shape": {"kind": "constant", "users": 20, "spawn_rate": 20, "duration_s": 48},
    },
    nemesis=(
        Fault(at_s=8, kind="replication-link-delay", duration_s=14, params={"latency_ms": 2000}),
        Fault(at_s=28, kind="replication-link-delay", duration_s=14, params={"latency_ms": 5000}),
    ),
    invariants=SERVICE_INVARIANTS,
    slos=(Slo(operation="seat_map", max_error_rate=0.0),),
    variants=tuple(Variant(p, settings={"read_policy": p}) for p in POLICIES),
    quiesce_timeout_s=45,
)
