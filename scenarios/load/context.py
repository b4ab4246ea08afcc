"""What the buyers of one Locust process share: the workload, the recorder, the schedule.

Built once per process by the locustfile's ``init`` listener (after ``--processes`` has
forked, so each worker has its own) and reached by each user through its environment.
Plain Python, no Locust: the ids, seeds and hot set are unit-tested here.
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scenarios.load.arrivals import ArrivalSchedule
from scenarios.load.recorder import Recorder, process_path
from scenarios.load.seats import SeatView, hot_set
from scenarios.load.shapes import ArrivalShape
from scenarios.load.workload import Workload

BUYERS_PER_PROCESS = 1_000_000  # buyer numbers of process i: i * this + 1, + 2, …


@dataclass
class LoadContext:
    workload: Workload
    recorder: Recorder
    process_tag: str
    processes: int = 1
    clock: Callable[[], float] = time.time
    _buyers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _users: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _schedule: ArrivalSchedule | None = None
    _hot_sets: dict[int, tuple[int, ...]] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @property
    def sale_opens_at(self) -> float:
        """Epoch seconds when buyers may first ask for seats (``on_sale_at_s`` after start)."""
        return self.started + self.workload.on_sale_at_s

    @classmethod
    def for_process(cls, workload: Workload, *, processes: int | None) -> LoadContext:
        """This process's context: its own operations file when there are several processes."""
        count = processes if processes and processes > 0 else 1
        tag = f"pid{os.getpid()}"
        path = process_path(workload.operations_path, multiprocess=count > 1, tag=tag)
        return cls(workload, Recorder(path), tag, count)

    def next_user_number(self) -> int:
        return next(self._users)

    def next_buyer_number(self, process_index: int) -> int:
        """A buyer number unique across the processes of a run (one member per buyer)."""
        return max(process_index, 0) * BUYERS_PER_PROCESS + next(self._buyers)

    def rng_for(self, user_number: int) -> random.Random:
        """Each user's own generator, reproducible from the workload's seed."""
        return random.Random(f"{self.workload.seed}:{self.process_tag}:{user_number}")

    @property
    def open_model(self) -> bool:
        return isinstance(self.workload.shape, ArrivalShape)

    def next_slot(self, process_index: int) -> float:
        """The next intended start of this process's share of the arrival schedule.

        The schedule starts when the first user asks (the pool is then spawned), not at
        import, so slots are not already late when the test begins.
        """
        shape = self.workload.shape
        if not isinstance(shape, ArrivalShape):
            raise RuntimeError("the workload has no arrival rate (shape kind 'arrival')")
        if self._schedule is None:
            index = min(max(process_index, 0), self.processes - 1)
            self._schedule = ArrivalSchedule.for_process(
                shape.rate_per_s, self.clock(), index, self.processes
            )
        return self._schedule.next_slot()

    def hot_set(self, concert_id: int, seats: Sequence[SeatView]) -> tuple[int, ...]:
        """The hot seats of a concert, fixed by the first seat map of its hot zone."""
        if concert_id not in self._hot_sets:
            self._hot_sets[concert_id] = hot_set(seats, self.workload.seats.hotspot_seats)
        return self._hot_sets[concert_id]
