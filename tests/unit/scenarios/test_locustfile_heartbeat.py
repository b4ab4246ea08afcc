"""The master of ``--processes`` tolerates a worker busy for seconds on a starved machine.

Locust's default declares a worker missing after about 4 s without a heartbeat, and stops
the whole load (exit 0) once the last one is: a 120 s load once ended at 25 s that way on
a loaded 2-core machine. The locustfile raises the tolerance when Locust imports it.
"""

from __future__ import annotations

import json
import subprocess
import sys

from scenarios.load.process import REPO_ROOT, locust_env

# In a process of its own: importing the locustfile registers listeners on Locust's global
# events and changes a module constant, which must not leak into other tests.
PROBE = """
import json
import locust.runners as runners
before = runners.HEARTBEAT_LIVENESS
import scenarios.load.locustfile as glue
print(json.dumps({
    "before": before,
    "liveness": runners.HEARTBEAT_LIVENESS,
    "interval": runners.HEARTBEAT_INTERVAL,
    "silence_s": glue.WORKER_SILENCE_S,
}))
"""


def probe() -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env=locust_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_master_waits_the_documented_silence_before_calling_a_worker_missing() -> None:
    seen = probe()
    # The master counts a worker's liveness down once per interval and calls it missing
    # when it goes below zero: (liveness + 1) intervals of silence.
    tolerated_s = (seen["liveness"] + 1) * seen["interval"]
    assert tolerated_s == seen["silence_s"]
    assert 10 <= tolerated_s <= 20
    assert tolerated_s > (seen["before"] + 1) * seen["interval"]  # raised, not Locust's own
