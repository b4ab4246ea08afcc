"""vu-knee: more virtual users, fewer requests per second — found by the lab, not told.

A step load adds buyers every few seconds until throughput stops growing. The lab finds
the knee (the user count where throughput peaks while p95 climbs) and attributes it from
the evidence: each worker's pool waiters and connections in use, InnoDB lock waits, the
event-loop lag, and the CPU of the workers, MariaDB and Locust (``scenarios/knee.py``).
The first variant runs on a small pool (the seed's "connection pool too small" story);
the second applies the fix the evidence points to, a larger pool, and the knee moves.
"""

from scenarios.spec import Scenario, Variant, Venue

SCENARIO = Scenario(
    name="vu-knee",
    description=(
        "Buyers added ten at a time every twelve seconds up to sixty, on one worker: the "
        "knee with a 2-connection pool, then with a 20-connection pool."
    ),
    settings={"hold_ttl_s": 5, "sweeper_interval_s": 1, "db_pool_timeout_s": 5.0},
    workers=1,
    venue=Venue(zones=26, rows=4, seats_per_row=100),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.05, 0.2],
        "abandon": {"hold": 0.7, "reservation": 0.9},
        "warmup_s": 0,
        "shape": {"kind": "step", "step_users": 10, "step_s": 12, "max_users": 60},
    },
    variants=(
        Variant(
            "small-pool",
            settings={"db_pool_size": 2},
            description="two pooled connections: requests queue for the pool",
        ),
        Variant(
            "bigger-pool",
            settings={"db_pool_size": 20},
            description="the fix the evidence points to: a larger pool",
        ),
    ),
    quiesce_timeout_s=40,
)
