"""A Locust file whose one user keeps its worker process busy, not yielding, for seconds.

The lab's glue is imported first (its heartbeat tolerance, its workload option), then a
user whose only task spins the CPU for ``TICKETLAB_TEST_BUSY_S`` seconds: no greenlet runs
meanwhile, so the worker sends no heartbeat, as a worker starved on a loaded machine.
``TICKETLAB_TEST_LOCUST_LIVENESS`` puts Locust's own default back, for a control run.
"""

from __future__ import annotations

import logging
import os
import time

import locust.runners
from locust import User, constant, task

import scenarios.load.locustfile  # noqa: F401  (the glue under test, imported for effect)

if os.environ.get("TICKETLAB_TEST_LOCUST_LIVENESS"):
    locust.runners.HEARTBEAT_LIVENESS = int(os.environ["TICKETLAB_TEST_LOCUST_LIVENESS"])


class BusyUser(User):
    wait_time = constant(600)

    @task
    def spin(self) -> None:
        busy_s = float(os.environ.get("TICKETLAB_TEST_BUSY_S", "8"))
        end = time.monotonic() + busy_s
        while time.monotonic() < end:
            pass
        logging.getLogger("ticketlab.test").info("busy user: spun %g s without yielding", busy_s)
