"""fd-leak: a soak of paying buyers with the provider client's fd-leak defect on and off;
the leak verdict must be LEAK with it on and NO LEAK with it off.

The defect (``service/adapters/psp_client.py``) opens a new HTTP session per call to the
payment provider and never closes it, as in the seed's story: every confirm leaves a
socket, so a worker's descriptors and ESTABLISHED sockets grow with payments.
"""

from scenarios.spec import NO_LEAK, SOAK_INVARIANTS, Scenario, Variant, Venue

SCENARIO = Scenario(
    name="fd-leak",
    description=(
        "Twenty steady paying buyers for three minutes on two workers, the provider "
        "client's fd-leak on, then off: descriptors and sockets must leak with it only."
    ),
    settings={"hold_ttl_s": 5, "sweeper_interval_s": 1, "reconciler_interval_s": 1},
    workers=2,
    # 10,000 seats: the buyers buy ~17 seats a second on an idle 2-core machine, and a soak
    # that sells out stops paying, so its descriptors level off and look like a step.
    venue=Venue(zones=20, rows=10, seats_per_row=50),
    workload={
        "seats": {"mode": "uniform"},
        "seats_per_hold": [1, 2],
        "think_time_s": [0.05, 0.2],
        "abandon": {"hold": 0.2, "reservation": 0.2},
        "pay": True,
        "warmup_s": 15,
        "shape": {"kind": "constant", "users": 20, "spawn_rate": 10, "duration_s": 180},
    },
    invariants=SOAK_INVARIANTS,
    leak_resources=("fds", "sockets_established"),
    variants=(
        Variant(
            "defect-on",
            settings={"defects": frozenset({"fd-leak"})},
            expect_violations=(NO_LEAK,),
            description="a new provider session per call, never closed",
        ),
        Variant("defect-off", description="one pooled provider session"),
    ),
    quiesce_timeout_s=40,
)
