"""memory-leak: a soak with the request-journal defect on and off; the leak verdict must be
LEAK with it on and NO LEAK with it off, on the same workload.

The defect (``service/http/defects.py``) keeps a copy of every request in a module-level
list, about a kilobyte each, so each worker's USS grows with the requests it serves. Run
with ``--profile memray`` to have the report name the allocating line.
"""

from scenarios.spec import NO_LEAK, SOAK_INVARIANTS, Scenario, Variant, Venue

SOAK = {
    "seats": {"mode": "uniform"},
    "seats_per_hold": [1, 2],
    "think_time_s": [0.05, 0.2],
    "abandon": {"hold": 0.6, "reservation": 0.9},
    "warmup_s": 20,
    "shape": {"kind": "constant", "users": 30, "spawn_rate": 15, "duration_s": 180},
}

SCENARIO = Scenario(
    name="memory-leak",
    description=(
        "Thirty steady buyers for three minutes on two workers, the request-journal "
        "defect on, then off: each worker's USS must leak with it and hold steady without."
    ),
    settings={"hold_ttl_s": 5, "sweeper_interval_s": 1},
    workers=2,
    venue=Venue(zones=4, rows=5, seats_per_row=50),
    workload=SOAK,
    invariants=SOAK_INVARIANTS,
    leak_resources=("uss_bytes",),
    variants=(
        Variant(
            "defect-on",
            settings={"defects": frozenset({"memory-leak"})},
            expect_violations=(NO_LEAK,),
            description="every request kept in the journal, forever",
        ),
        Variant("defect-off", description="the same load without the journal"),
    ),
    quiesce_timeout_s=40,
)
