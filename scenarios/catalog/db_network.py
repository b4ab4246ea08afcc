"""db-network: the network between the service and its primary turns bad, three ways.

The service reaches MariaDB through the lab's fault proxy. First every answer from the
database comes 150 ms late (the p99 of every operation grows by a multiple of it: a hold is
several round trips); then a third of the connections are reset by the peer as soon as they
are used; then every connection of the service is killed, every two seconds. Through all of
it the service must answer fast and honestly: a 503 it can retry, never a 500 and never a
hang, and once the network is good again every invariant holds.
"""

from scenarios.checks.slo import Slo
from scenarios.spec import PAYMENT_INVARIANTS, Fault, Scenario, Venue

FAIL_CLOSED = frozenset({409, 503})

SCENARIO = Scenario(
    name="db-network",
    description=(
        "Buyers pay while the link to the primary adds 150 ms, then resets a third of its "
        "connections, then loses all of them every 2 s: 503s, never a 500 or a hang."
    ),
    settings={
        "hold_ttl_s": 6,
        "sweeper_interval_s": 1,
        "reconciler_interval_s": 1,
        "reconciler_grace_s": 2,
        "db_pool_timeout_s": 1.0,
    },
    workers=2,
    venue=Venue(zones=4, rows=2, seats_per_row=25),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.2, 0.6],
        "abandon": {"hold": 0.2, "reservation": 0.2},
        "pay": True,
        "warmup_s": 3,
        "request_timeout_s": 15,
        "shape": {"kind": "constant", "users": 25, "spawn_rate": 25, "duration_s": 50},
    },
    nemesis=(
        Fault(
            at_s=8,
            kind="toxic",
            duration_s=12,
            params={"proxy": "primary", "type": "latency", "attributes": {"latency": 150}},
        ),
        Fault(
            at_s=24,
            kind="toxic",
            duration_s=8,
            params={
                "proxy": "primary",
                "type": "reset_peer",
                "toxicity": 0.34,
                "attributes": {"timeout": 0},
            },
        ),
        Fault(at_s=36, kind="db-kill-connections", duration_s=8, params={"every_s": 2}),
    ),
    invariants=PAYMENT_INVARIANTS,
    slos=(Slo(operation=None, expected_statuses=FAIL_CLOSED, max_error_rate=0.0),),
    quiesce_timeout_s=60,
)
