"""One service worker's own gauges and counters, read from its Prometheus multiprocess files.

The service's ``/metrics`` adds workers up (pool gauges are ``livesum``, the loop lag is
``max``), which hides the one worker that leaks. In multiprocess mode every worker writes
its values to ``<PROMETHEUS_MULTIPROC_DIR>/<kind>_<pid>.db`` (``gauge_livesum_1234.db``,
``counter_1234.db`` …), so reading the files of one pid gives that worker alone, at no
cost to the worker and without a request to it. The files are memory-mapped and written
in place; a read may see a value a moment old, never a torn file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict

# Sample name in the worker's files → column of workers.csv.
GAUGES = {
    "ticketlab_db_pool_size": "pool_size",
    "ticketlab_db_pool_in_use": "pool_in_use",
    "ticketlab_db_pool_waiting": "pool_waiting",
    "ticketlab_db_pool_max": "pool_max",
    "ticketlab_event_loop_lag_seconds": "loop_lag_s",
}
GC_GAUGE = "ticketlab_gc_collections"
REQUESTS_COUNTER = "ticketlab_http_requests_total"
COLUMNS = (
    "pool_size",
    "pool_in_use",
    "pool_waiting",
    "pool_max",
    "loop_lag_s",
    "gc_gen0",
    "gc_gen1",
    "gc_gen2",
    "requests",
)


def worker_values(directory: Path, pid: int) -> dict[str, float]:
    """The worker's columns (a subset of ``COLUMNS``; none when it has no files yet)."""
    values: dict[str, float] = {}
    for path in sorted(directory.glob(f"*_{pid}.db")):
        try:
            entries = list(MmapedDict.read_all_values_from_file(str(path)))
        except (OSError, RuntimeError, ValueError):
            continue  # a file being created or removed: next tick
        for key, value, _timestamp, _pos in entries:
            _add(values, key, value)
    return values


def _add(values: dict[str, float], key: str, value: float) -> None:
    _metric, name, labels, _help = json.loads(key)
    if name in GAUGES:
        values[GAUGES[name]] = value
    elif name == GC_GAUGE:
        generation = _label(labels, "generation")
        if generation in ("0", "1", "2"):
            values[f"gc_gen{generation}"] = value
    elif name == REQUESTS_COUNTER:
        values["requests"] = values.get("requests", 0.0) + value


def _label(labels: Mapping[str, str], name: str) -> str:
    return str(labels.get(name, ""))
