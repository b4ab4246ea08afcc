"""broker-outage: RabbitMQ is unreachable for fifteen seconds; nothing may be lost.

The service reaches the broker through the lab's fault proxy, which goes down: every
connection drops and new ones are refused (the lab borrows the machine's broker with a
vhost of its own, so the broker itself is never stopped). Holds keep expiring — the
delay-queue message cannot arrive, so the sweeper must release them — and the outbox keeps
every event until the relay can publish again. After the broker returns every event must
have been delivered, every hold released or sold, and the money must add up.
"""

from scenarios.checks.slo import Slo
from scenarios.spec import PAYMENT_INVARIANTS, Fault, Scenario, Venue

SCENARIO = Scenario(
    name="broker-outage",
    description=(
        "The broker unreachable for 15 s mid-load: holds still expire (sweeper), the outbox "
        "holds events, nothing is lost once it is back."
    ),
    settings={
        "hold_ttl_s": 4,
        "sweeper_interval_s": 1,
        "reconciler_interval_s": 1,
        "reconciler_grace_s": 2,
    },
    workers=1,
    venue=Venue(zones=4, rows=2, seats_per_row=25),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.2, 0.6],
        "abandon": {"hold": 0.4, "reservation": 0.3},
        "pay": True,
        "warmup_s": 3,
        "shape": {"kind": "constant", "users": 20, "spawn_rate": 20, "duration_s": 40},
    },
    nemesis=(Fault(at_s=8, kind="proxy-down", duration_s=15, params={"proxy": "rabbitmq"}),),
    invariants=PAYMENT_INVARIANTS,
    slos=(Slo(operation="hold", max_error_rate=0.05),),
    quiesce_timeout_s=60,
)
