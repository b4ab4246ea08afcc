"""payment-faults: the payment provider misbehaves on a schedule; money and seats must
still add up.

Buyers pay for what they reserve. While they do, the provider slows down, withholds
answers (the service must ask instead of failing blind), answers 500 after capturing, and
sends webhooks twice, late and out of order. After the dust settles every capture must
belong to exactly one confirmed reservation or have been refunded, every webhook must have
been applied once, and no seat may be sold twice.
"""

from scenarios.checks.slo import Slo
from scenarios.spec import PAYMENT_INVARIANTS, Fault, Scenario, Venue

SCENARIO = Scenario(
    name="payment-faults",
    description=(
        "Thirty paying buyers while the provider adds latency, times out, fails after "
        "capturing, and duplicates and reorders webhooks; money and seats must add up."
    ),
    settings={
        "hold_ttl_s": 8,
        "sweeper_interval_s": 1,
        "psp_timeout_s": 1.5,
        "reconciler_interval_s": 1,
        "reconciler_grace_s": 2,
    },
    venue=Venue(zones=4, rows=2, seats_per_row=25),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.2, 0.6],
        "abandon": {"hold": 0.1, "reservation": 0.1},
        "pay": True,
        "warmup_s": 2,
        "shape": {"kind": "constant", "users": 30, "spawn_rate": 15, "duration_s": 40},
    },
    nemesis=(
        Fault(
            at_s=5,
            kind="psp-faults",
            duration_s=8,
            params={"confirm_latency": {"kind": "uniform", "min_ms": 200, "max_ms": 900}},
        ),
        Fault(
            at_s=15,
            kind="psp-faults",
            duration_s=8,
            params={
                "timeout_rate": 0.3,
                "timeout_mode": "late",
                "timeout_late_ms": 3000,
                "error_5xx_rate": 0.1,
                "error_5xx_mode": "after",
            },
        ),
        Fault(
            at_s=25,
            kind="psp-faults",
            duration_s=10,
            params={
                "webhook_duplicate_rate": 0.5,
                "webhook_out_of_order_rate": 0.3,
                "webhook_drop_first_rate": 0.3,
                "webhook_delay_ms": 300,
            },
        ),
    ),
    invariants=PAYMENT_INVARIANTS,
    slos=(Slo(operation="hold", p95_ms=3000, max_error_rate=0.1),),
    quiesce_timeout_s=60,
)
