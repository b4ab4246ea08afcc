"""Stale reads, counted from the history and the primary's rows after the run.

A buyer reads a zone's seat map, picks seats it shows free, and tries to hold them. The
read was **stale** when a seat it showed free was already taken on the primary for the whole
time the read was in flight: its hold committed (the hold's answer had arrived) before the
read was sent, and not released (``hold_seats.released_at``) before its answer arrived. A
seat taken or freed *while* the read ran is a race any source loses sometimes, not
staleness, so it is left out: under the ``primary`` policy this counts nothing.

The read a hold's seats came from is the same buyer's (``process``) latest seat-map read
that ended before the hold was sent; of its seats only those the map showed free count
(``shown_free``: a buyer short of free seats fills up with taken ones). Each such pair is
one *choice*; the summary says how many were stale, how many holds were refused as taken
(409) after a stale read and after a fresh one, and where the seat maps were read from
(``read_source``) with their stated age.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scenarios.checks.snapshot import DbState
from scenarios.history import Operation

SEATS_TAKEN = "https://ticketlab.dev/problems/seats-taken"


@dataclass(frozen=True)
class Taken:
    """One seat taken by one hold: from ``since`` until ``until`` (None: still taken)."""

    since: float
    until: float | None

    def throughout(self, start: float, end: float) -> bool:
        return self.since <= start and (self.until is None or self.until >= end)


def taken_intervals(db: DbState, operations: Iterable[Operation]) -> dict[int, list[Taken]]:
    """Every seat's taken intervals on the primary, by seat id, from when the hold that
    took it was certainly committed: the end of the hold request that answered with it
    (``claimed_at`` is stamped inside the claim's transaction, before its commit, and a
    read in between rightly sees the seat free). Holds no answer was seen for are left out.
    """
    answered = {
        op.hold_id: op.end for op in operations if op.name == "hold" and op.hold_id is not None
    }
    intervals: dict[int, list[Taken]] = defaultdict(list)
    for row in db.hold_seats:
        since = answered.get(row.hold_id)
        if since is not None:
            intervals[row.seat_id].append(Taken(since, row.released_at))
    return intervals


def choices(operations: Iterable[Operation]) -> list[tuple[Operation, Operation]]:
    """(seat-map read, hold) pairs: each hold with its buyer's latest read before it."""
    last_read: dict[str, Operation] = {}
    pairs = []
    for op in sorted(operations, key=lambda o: o.start):
        if op.name == "seat_map" and op.status == 200:
            last_read[op.process] = op
        elif op.name == "hold" and op.seat_ids and op.process in last_read:
            read = last_read[op.process]
            if read.end <= op.start:
                pairs.append((read, op))
    return pairs


Judged = tuple[Operation, Operation, bool]  # (read, hold, the read was stale)


def judge(operations: Sequence[Operation], taken: Mapping[int, Sequence[Taken]]) -> list[Judged]:
    judged = []
    for read, hold in choices(operations):
        seen = hold.seat_ids if hold.shown_free is None else hold.shown_free
        intervals = (t for seat in seen for t in taken.get(seat, ()))
        judged.append((read, hold, any(t.throughout(read.start, read.end) for t in intervals)))
    return judged


def section(reads: Sequence[Operation], judged: Sequence[Judged]) -> dict[str, Any]:
    """Counts over some reads and the choices made from them."""
    sources = Counter(op.read_source or "unsaid" for op in reads)
    ages = [op.read_age_ms for op in reads if op.read_source == "replica" and op.read_age_ms]
    stale = sum(flag for _, _, flag in judged)
    refused = [
        flag for _, hold, flag in judged if hold.status == 409 and hold.problem_type == SEATS_TAKEN
    ]
    return {
        "seat_map_reads": len(reads),
        "read_sources": dict(sorted(sources.items())),
        "replica_age_ms_mean": round(sum(ages) / len(ages), 1) if ages else None,
        "replica_age_ms_max": max(ages) if ages else None,
        "choices": len(judged),
        "stale": stale,
        "stale_share": round(stale / len(judged), 4) if judged else None,
        "taken_409_after_stale": sum(refused),
        "taken_409_after_fresh": len(refused) - sum(refused),
    }


Window = tuple[str, float, float]  # (label, start, end)
NO_FAULT = "no fault"


def stale_reads(
    operations: Sequence[Operation],
    taken: Mapping[int, Sequence[Taken]],
    windows: Sequence[Window] = (),
) -> dict[str, Any]:
    """The summary's ``stale_reads`` section (see the module's docstring); with fault
    ``windows``, the same per window (by when the read was sent) and outside them all."""
    reads = [op for op in operations if op.name == "seat_map" and op.status == 200]
    judged = judge(operations, taken)
    summary = section(reads, judged)
    if windows:

        def within(t: float, start: float, end: float) -> bool:
            return start <= t <= end

        by_window = {}
        for label, start, end in windows:
            by_window[label] = section(
                [r for r in reads if within(r.start, start, end)],
                [j for j in judged if within(j[0].start, start, end)],
            )
        outside = [r for r in reads if not any(within(r.start, s, e) for _, s, e in windows)]
        chosen = [j for j in judged if not any(within(j[0].start, s, e) for _, s, e in windows)]
        by_window[NO_FAULT] = section(outside, chosen)
        summary["by_window"] = by_window
    return summary


def fault_windows(faults: Iterable[Any]) -> list[Window]:
    """History fault records as labelled windows (``kind key=value …``)."""
    windows = []
    for fault in faults:
        params = " ".join(f"{k}={v}" for k, v in sorted(fault.params.items()))
        label = f"{fault.kind} {params}".strip()
        windows.append((label, fault.start, fault.end if fault.end is not None else fault.start))
    return windows
