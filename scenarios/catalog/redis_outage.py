"""redis-outage: the lab's Redis goes away for ten seconds, under three claim strategies.

Redis holds sign-in state for every strategy, the lock for ``redis-lock`` and the whole
seat gate for ``redis-gate``. While it is away the service must fail closed — a 503 the
buyer can retry, never a 500 and never a seat sold twice — and when it comes back empty
(no persistence: a restart loses everything), ``redis-gate`` must not let its lost gate
admit claims for seats the database has already given away.
"""

from scenarios.checks.slo import Slo
from scenarios.spec import SERVICE_INVARIANTS, Fault, Scenario, Variant, Venue

FAIL_CLOSED = frozenset({409, 503})

SCENARIO = Scenario(
    name="redis-outage",
    description=(
        "Redis stopped for 10 s mid-load and started again empty, per strategy: 503s while "
        "it is away, never an oversell, redis-gate consistent after the restart."
    ),
    settings={"hold_ttl_s": 6, "sweeper_interval_s": 1},
    workers=2,
    venue=Venue(zones=2, rows=2, seats_per_row=20),
    workload={
        "seats": {"mode": "hotspot", "hotspot_share": 0.8, "hotspot_seats": 20},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.1, 0.4],
        "abandon": {"hold": 0.5, "reservation": 0.5},
        "warmup_s": 3,
        "request_timeout_s": 10,
        "shape": {"kind": "constant", "users": 25, "spawn_rate": 25, "duration_s": 30},
    },
    nemesis=(Fault(at_s=8, kind="server-stop", duration_s=10, params={"server": "redis"}),),
    invariants=SERVICE_INVARIANTS,
    slos=(Slo(operation=None, expected_statuses=FAIL_CLOSED, max_error_rate=0.0),),
    variants=(
        Variant("conditional", settings={"claim_strategy": "conditional"}),
        Variant("redis-lock", settings={"claim_strategy": "redis-lock"}),
        Variant("redis-gate", settings={"claim_strategy": "redis-gate"}),
    ),
    quiesce_timeout_s=45,
)
