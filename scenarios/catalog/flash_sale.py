"""flash-sale: far more buyers than seats, arriving in a spike."""

from scenarios.checks.slo import Slo
from scenarios.spec import Scenario, Venue

SCENARIO = Scenario(
    name="flash-sale",
    description=(
        "A 100-seat show goes on sale: 20 early visitors, then a spike to 250 buyers within "
        "five seconds. Seats must not oversell and the service must answer refusals fast."
    ),
    settings={"hold_ttl_s": 6, "sweeper_interval_s": 1, "db_pool_size": 30},
    workers=2,
    venue=Venue(zones=1, rows=2, seats_per_row=50),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.1, 0.5],
        "abandon": {"hold": 0.5, "reservation": 0.5},
        "warmup_s": 0,
        "shape": {
            "kind": "spike",
            "baseline_users": 20,
            "peak_users": 250,
            "ramp_s": 5,
            "baseline_s": 10,
            "rise_s": 5,
            "hold_s": 20,
            "drop_s": 5,
            "after_s": 5,
            "time_scale": 1.0,
        },
    },
    slos=(Slo(operation="hold", p99_ms=3000, max_error_rate=0.1),),
    quiesce_timeout_s=40,
)
