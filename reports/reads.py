"""Stale reads per variant and fault window, from ``summary.json``'s ``reads`` (written by
``scenarios/reads.py``): rows only where some variant read from a replica or a cache, since
with every read on the primary there is nothing to show."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

STALE_NOTE = (
    '<p class="muted">A stale read is a seat the buyer\'s seat map showed free, and the '
    "buyer then tried to hold, that was already taken on the primary for the whole of the "
    "map's request. Over the measured window, and per fault window by when the map was "
    "asked for; the 409s are holds refused as taken after a stale or a fresh map.</p>"
)
WHOLE_LOAD = "(measured window)"


def _sources(counts: Any) -> str:
    if not isinstance(counts, dict):
        return ""
    return ", ".join(f"{source} {n}" for source, n in sorted(counts.items()))


def stale_read_rows(reports: Iterable[Any]) -> list[dict[str, Any]]:
    """One row per variant and window (the measured window first), or none at all."""
    rows: list[dict[str, Any]] = []
    routed = False
    for report in reports:
        found = report.variant.summary.get("reads")
        if not isinstance(found, dict) or "choices" not in found:
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
                    "stale_reads": counts.get("stale_reads"),
                    "holds_after_stale_read": counts.get("holds_after_stale_read"),
                    "stale_share": counts.get("stale_share"),
                    "refused_after_stale": counts.get("holds_refused_after_stale_read"),
                    "refused_after_fresh": counts.get("holds_refused_after_fresh_read"),
                }
            )
    return rows if routed else []
