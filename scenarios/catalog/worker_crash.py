"""worker-crash: service workers die and freeze while buyers pay; nothing may be lost.

Two workers share the port. Ten seconds in, one is killed with SIGKILL — in the middle of
whatever it was doing: holds, reservations, confirms with the payment provider — and
twelve seconds later the other one is; then a worker is frozen (SIGSTOP) for five seconds
and thawed. A supervisor worth the name starts a replacement within a second or two (the
fault record's note says whether it did). Afterwards the books must balance: money
conserved (every capture confirmed or refunded), every hold released or sold, every
webhook applied once, every event delivered, no seat sold twice.
"""

from scenarios.checks.slo import Slo
from scenarios.spec import PAYMENT_INVARIANTS, Fault, Scenario, Venue

SCENARIO = Scenario(
    name="worker-crash",
    description=(
        "Two workers; one killed at 10 s, the other at 22 s, one frozen for 5 s at 32 s, "
        "while buyers hold, reserve and pay: money, seats and events must add up."
    ),
    settings={
        "hold_ttl_s": 6,
        "sweeper_interval_s": 1,
        "reconciler_interval_s": 1,
        "reconciler_grace_s": 2,
    },
    workers=2,
    venue=Venue(zones=4, rows=2, seats_per_row=25),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.1, 0.4],
        "abandon": {"hold": 0.1, "reservation": 0.1},
        "pay": True,
        "warmup_s": 3,
        "request_timeout_s": 10,
        "shape": {"kind": "constant", "users": 25, "spawn_rate": 25, "duration_s": 45},
    },
    nemesis=(
        Fault(at_s=10, kind="worker-kill", params={"worker": 0, "restart_wait_s": 8}),
        Fault(at_s=22, kind="worker-kill", params={"worker": 1, "restart_wait_s": 8}),
        Fault(at_s=32, kind="worker-pause", duration_s=5, params={"worker": 0}),
    ),
    invariants=PAYMENT_INVARIANTS,
    slos=(Slo(operation="hold", max_error_rate=0.1),),
    quiesce_timeout_s=60,
)
