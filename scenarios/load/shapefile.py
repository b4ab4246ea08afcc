"""The workload's load shape as a Locust ``LoadTestShape`` (added to ``-f`` when needed).

A separate file because Locust uses any shape class it finds in a locustfile: kept apart,
the same buyers run under the workload's shape (headless runs) or under users and spawn
rate set by hand (the web UI, ``-u``/``-r``/``-t``). The math is ``shapes.Plan``.

The shape runs in the master process (with ``--processes``) or the only one; it reads the
workload on its first tick, when Locust's options have been parsed.
"""

from __future__ import annotations

from locust import LoadTestShape

from scenarios.load.shapes import Plan
from scenarios.load.workload import load_workload


class WorkloadShape(LoadTestShape):
    """Users and spawn rate each second from the workload's stages, spike, step or arrival pool."""

    plan: Plan | None = None

    def tick(self) -> tuple[int, float] | None:
        if self.plan is None:
            self.plan = self._load_plan()
            self.reset_time()
        return self.plan.tick(self.get_run_time())

    def _load_plan(self) -> Plan:
        options = self.runner.environment.parsed_options if self.runner else None
        path = getattr(options, "ticketlab_workload", "") if options else ""
        shape = load_workload(path).shape if path else None
        if shape is None:
            raise RuntimeError("the workload has no shape: leave shapefile.py out of -f")
        return Plan.of(shape)
