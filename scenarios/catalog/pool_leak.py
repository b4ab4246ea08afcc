"""pool-leak: a soak with the database pool's leak defect on and off; the leak verdict must
be LEAK with it on and NO LEAK with it off, and the defect's 503 cliff shows in the load.

The defect (``service/adapters/db.py``) keeps the connection of every transaction that
ends in a refusal (seat taken, limit reached), so each refused hold costs one pooled
connection for good. Once the pool is gone every request waits out the acquire timeout
and gets a 503: the "more users, fewer requests per second" cliff. About one hold in twelve
goes for two seats everyone wants (mostly refused), the rest spread over a large venue
(rarely refused), and buyers think for a second between steps, so the pool drains over a
minute or two, not within the warm-up (where the verdict, measured after it, would see
only a pool already full: one hold in seven did that once the hold path got faster).
"""

from scenarios.spec import NO_LEAK, SOAK_INVARIANTS, Scenario, Variant, Venue

SCENARIO = Scenario(
    name="pool-leak",
    description=(
        "Twenty steady buyers for three minutes on one worker with a 30-connection pool, "
        "the pool-leak on, then off: connections in use must climb to the pool's size "
        "(and requests fall off a 503 cliff) with it only."
    ),
    settings={
        "hold_ttl_s": 5,
        "sweeper_interval_s": 1,
        "db_pool_size": 30,
        "db_pool_timeout_s": 1.0,
    },
    workers=1,
    venue=Venue(zones=26, rows=10, seats_per_row=100, ticket_limit=4),
    workload={
        "seats": {"mode": "hotspot", "hotspot_share": 0.08, "hotspot_seats": 2},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.5, 1.5],
        "abandon": {"hold": 0.7, "reservation": 0.9},
        "warmup_s": 10,
        "shape": {"kind": "constant", "users": 20, "spawn_rate": 10, "duration_s": 180},
    },
    invariants=SOAK_INVARIANTS,
    leak_resources=("pool_in_use",),
    variants=(
        Variant(
            "defect-on",
            settings={"defects": frozenset({"pool-leak"})},
            expect_violations=(NO_LEAK,),
            description="a refused transaction's connection is never given back",
        ),
        Variant("defect-off", description="every connection given back"),
    ),
    quiesce_timeout_s=40,
)
