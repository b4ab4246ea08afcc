"""seed-profile: the seed project's k6 stages and thresholds, compressed in time.

Stages 2 min → 100 users, 5 min → 500, 5 min → 700, 2 min → 500, 2 min → 0 at time
scale 1/8 (two minutes in all); thresholds p95 < 5 s, failures < 15 %, holds > 70 %.
"""

from scenarios.checks.slo import Slo
from scenarios.spec import Scenario

SCENARIO = Scenario(
    name="seed-profile",
    description="The seed's load profile and thresholds on its 43,000-seat arena, at 1/8 time.",
    settings={"hold_ttl_s": 20, "sweeper_interval_s": 2},
    workers=2,
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [1.0, 3.0],
        "abandon": {"hold": 0.2, "reservation": 0.5},
        "warmup_s": 10,
        "shape": {"kind": "stages", "stages": "seed", "time_scale": 0.125},
    },
    slos=(
        Slo(operation=None, p95_ms=5000, max_error_rate=0.15),
        Slo(operation="hold", min_success_rate=0.7),
    ),
    quiesce_timeout_s=60,
)
