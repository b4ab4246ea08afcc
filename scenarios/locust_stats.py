"""Locust's own figures (its ``--csv`` statistics), kept to check the history's against.

The ``Aggregated`` row of ``<prefix>_stats.csv`` counts every request Locust saw answered
after its warm-up reset, over its own window (test start, or the reset, to the last
request): the same window and count as summary.json's ``requests_per_s``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any


def read_locust_totals(path: Path) -> dict[str, Any] | None:
    """``{requests, failures, requests_per_s}`` of the Aggregated row; None without one."""
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
