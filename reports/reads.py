"""Stale reads per variant and fault window, from ``summary.json``'s ``stale_reads``
(written by ``scenarios/stale_reads.py``): a table only where some variant read from a
replica or a cache, since with every read on the primary there is nothing to show."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

STALE_NOTE = (
    '<p class="muted">A read is stale when a seat the map showed free, and the buyer then '
    "tried to hold, had been taken on the primary before the read was sent. Per fault "
    "window, by when the read was sent; the whole load (warm-up included).</p>"
)
WHOLE_LOAD = "(whole load)"


def _sources(counts: Any) -> str:
    if not isinstance(counts, dict):
        return ""
    return ", ".join(f"{source} {n}" for source, n in sorted(counts.items()))


def stale_read_rows(reports: Iterable[Any]) -> list[dict[str, Any]]:
    """One row per variant and window (the whole load first), or none at all."""
    rows: list[dict[str, Any]] = []
    routed = False
    for report in reports:
        found = report.variant.summary.get("stale_reads")
        if not isinstance(found, dict):
            continue
        sections = {WHOLE_LOAD: found, **(found.get("by_window") or {})}
        for window, counts in sections.items():
            sources = counts.get("read_sources") or {}
            routed = routed or bool(set(sources) - {"primary", "unsaid"})
            rows.append(
                {
                    "variant": report.label,
                    "window": window,
                    "sources": _sources(sources),
                    "age_mean_ms": counts.get("replica_age_ms_mean"),
                    "choices": counts.get("choices"),
                    "stale": counts.get("stale"),
                    "stale_share": counts.get("stale_share"),
                    "taken_409_after_stale": counts.get("taken_409_after_stale"),
                    "taken_409_after_fresh": counts.get("taken_409_after_fresh"),
                }
            )
    return rows if routed else []
