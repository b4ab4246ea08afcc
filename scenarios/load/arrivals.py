"""The open-model arrival schedule, against coordinated omission.

In a closed model a slow server slows its own load: each user waits for an answer before
sending the next request, so the requests that *would* have been sent during a stall are
never sent and never measured. An open model fixes when each iteration should begin —
slot k at ``start + k / rate`` — whatever the server does. A user takes the next slot,
sleeps until it (or starts at once if it is already late), and every operation of that
iteration records an intended start, so latency measured from it includes the time the
iteration spent queued behind a slow server.

With ``--processes N`` each process runs its own schedule at ``rate / N``, offset by its
index, so the N schedules interleave into one evenly spaced stream. The processes never
talk to each other about it: each starts its schedule on the same grid of the wall clock
(multiples of its period ``N / rate`` since the epoch), so whichever moment each one
starts, their slots fall between one another's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class ArrivalSchedule:
    """Evenly spaced slots: ``start + phase + k * interval``, handed out once each, in order."""

    rate_per_s: float
    start: float
    phase_s: float = 0.0
    _taken: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be positive, got {self.rate_per_s}")

    @classmethod
    def for_process(
        cls, total_rate_per_s: float, start: float, index: int, processes: int
    ) -> ArrivalSchedule:
        """Process ``index``'s share of ``processes`` interleaved schedules."""
        if processes < 1 or not 0 <= index < processes:
            raise ValueError(f"process index {index} outside 0..{processes - 1}")
        period = processes / total_rate_per_s
        aligned = math.ceil(start / period) * period
        return cls(total_rate_per_s / processes, aligned, phase_s=index / total_rate_per_s)

    @property
    def interval_s(self) -> float:
        return 1.0 / self.rate_per_s

    @property
    def taken(self) -> int:
        return self._taken

    def slot(self, k: int) -> float:
        return self.start + self.phase_s + k * self.interval_s

    def next_slot(self) -> float:
        """The next intended start; it may already be in the past (the caller is late)."""
        slot = self.slot(self._taken)
        self._taken += 1
        return slot


def wait_for(slot: float, now: float) -> float:
    """How long to sleep before starting at ``slot``: never negative, late means now."""
    return max(0.0, slot - now)


@dataclass(frozen=True)
class Iteration:
    """One iteration's place in the schedule, so each operation can carry an intended start.

    ``lag_s`` is how late the iteration began (0 when it waited for its slot). Each of its
    operations records ``intended_start = actual_start - lag_s``: the first operation's is
    the slot itself, and the later ones carry the same queueing delay, without counting the
    iteration's own earlier steps and think times into their latency.
    """

    slot: float
    began: float

    @property
    def lag_s(self) -> float:
        return max(0.0, self.began - self.slot)

    def intended_start(self, actual_start: float) -> float:
        return actual_start - self.lag_s
