"""smoke: the whole pipeline in under a minute on a small venue, with lenient SLOs."""

from scenarios.checks.slo import Slo
from scenarios.spec import Scenario, Venue

SCENARIO = Scenario(
    name="smoke",
    description=(
        "Twenty buyers for twenty seconds on an 80-seat venue: sign in, browse, hold, "
        "reserve, sometimes walk away. Proves the stack, the load and the checks work."
    ),
    settings={"claim_strategy": "conditional", "hold_ttl_s": 4, "sweeper_interval_s": 1},
    venue=Venue(zones=2, rows=2, seats_per_row=20),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.2, 0.8],
        "abandon": {"hold": 0.3, "reservation": 0.5},
        "warmup_s": 3,
        "shape": {"kind": "constant", "users": 20, "spawn_rate": 10, "duration_s": 20},
    },
    slos=(
        Slo(operation="hold", p95_ms=2000, max_error_rate=0.2),
        Slo(operation="browse", p95_ms=2000, max_error_rate=0.05),
    ),
    quiesce_timeout_s=30,
)
