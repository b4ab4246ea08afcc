"""Locust's own figures, kept to check the history's against.

Locust's ``req/s`` is ``num_requests / (last_request_timestamp - start_time)``: the
requests it logged, over the time from its statistics' start (test start, or the warm-up
reset) to the last answer it logged — the window summary.json's ``requests_per_s`` uses
(first request sent to last answer received), counted the same way.

Its ``--csv`` files are not that figure at the end of a run: Locust rewrites
``<prefix>_stats.csv`` once a second and does not write it again when it shuts down, so
the last rows are up to a second old and miss the answers of the stop itself (1.5 % of a
run's requests on a starved machine). The figure Locust prints in its closing summary is
complete; the locustfile's ``quit`` listener writes those same numbers, from the same
statistics object, to ``<prefix>_final.json`` (``write_final``). ``read_locust_totals``
prefers that file and falls back to the CSV's Aggregated row (``source`` says which).

No Locust import here: ``write_final`` takes Locust's ``RequestStats`` as it is.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

FINAL_SUFFIX = "_final.json"
CSV_SUFFIX = "_stats.csv"


def final_totals(stats: Any, stopping_at: float | None) -> dict[str, Any]:
    """Locust's closing figures from its ``RequestStats`` (``environment.stats``).

    ``stopping_at`` is when the generator began stopping (Locust's ``test_stopping``):
    answers logged after it are the stop's own, still counted, as Locust counts them.
    """
    total = stats.total
    start, last = stats.start_time, stats.last_request_timestamp
    return {
        "requests": int(total.num_requests),
        "failures": int(total.num_failures),
        "requests_per_s": round(float(total.total_rps), 3),
        "start": start,
        "last_answer": last,
        "seconds": round(last - start, 6) if start and last else None,
        "stopping_at": stopping_at,
        "written_at": time.time(),
    }


def write_final(prefix: str | Path, stats: Any, stopping_at: float | None) -> Path:
    """``<prefix>_final.json``, written through a temporary name."""
    path = Path(f"{prefix}{FINAL_SUFFIX}")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(final_totals(stats, stopping_at), indent=2) + "\n")
    tmp.replace(path)
    return path


def read_locust_totals(prefix: Path) -> dict[str, Any] | None:
    """Locust's closing figures (``source: final``), else its CSV's (``source: csv``);
    None when Locust left neither."""
    final = _read_final(Path(f"{prefix}{FINAL_SUFFIX}"))
    if final is not None:
        return {**final, "source": "final"}
    stale = _read_csv(Path(f"{prefix}{CSV_SUFFIX}"))
    return None if stale is None else {**stale, "source": "csv"}


def _read_final(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
        return {
            "requests": int(data["requests"]),
            "failures": int(data["failures"]),
            "requests_per_s": float(data["requests_per_s"]),
            "seconds": data.get("seconds"),
            "stopping_at": data.get("stopping_at"),
        }
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_csv(path: Path) -> dict[str, Any] | None:
    """``{requests, failures, requests_per_s}`` of the Aggregated row."""
    try:
        with path.open(newline="") as lines:
            rows = list(csv.DictReader(lines))
    except OSError:
        return None
    for row in rows:
        if row.get("Name") == "Aggregated":
            try:
                return {
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "requests_per_s": round(float(row["Requests/s"]), 3),
                }
            except (KeyError, ValueError):
                return None
    return None
