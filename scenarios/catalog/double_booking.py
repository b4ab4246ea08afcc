"""double-booking: the six claim strategies on one hot-spot workload.

Everyone wants the same twelve seats, and the sale opens for all of them at one instant.
``naive`` reads then writes and must oversell — its variant passes only when the
overselling is observed; every other strategy must sell each seat at most once.
"""

from scenarios.checks.slo import Slo
from scenarios.spec import Scenario, Variant, Venue
from service.config import CLAIM_STRATEGIES as STRATEGIES

SCENARIO = Scenario(
    name="double-booking",
    description=(
        "Forty buyers grab at the same twelve seats under each claim strategy; naive is "
        "expected to oversell, every other strategy to sell each seat once."
    ),
    settings={"hold_ttl_s": 3, "sweeper_interval_s": 1, "db_pool_size": 30},
    venue=Venue(zones=2, rows=2, seats_per_row=20),
    workload={
        "seats": {"mode": "hotspot", "hotspot_share": 1.0, "hotspot_seats": 12},
        "seats_per_hold": [1, 3],
        "think_time_s": [0.05, 0.3],
        "abandon": {"hold": 0.6, "reservation": 1.0},
        "warmup_s": 0,
        "on_sale_at_s": 3,
        "shape": {"kind": "constant", "users": 40, "spawn_rate": 40, "duration_s": 15},
    },
    variants=tuple(
        Variant(
            name=strategy,
            settings={"claim_strategy": strategy},
            expect_violations=("no-double-booking",) if strategy == "naive" else (),
        )
        for strategy in STRATEGIES
    ),
    # Without grants a safe strategy would pass vacuously: some holds must succeed.
    slos=(Slo(operation="hold", min_success_rate=0.01, min_samples=50),),
    quiesce_timeout_s=30,
)
