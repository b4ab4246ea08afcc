"""The report's stale-read table: shown where a variant read from a replica or a cache, per
window."""

from __future__ import annotations

from types import SimpleNamespace

from reports.html.figures import stale_reads
from reports.reads import WHOLE_LOAD, stale_read_rows


def variant(label: str, sources: dict[str, int], stale: int, windows: dict | None = None):  # type: ignore[no-untyped-def]
    counts = {
        "read_sources": sources,
        "choices": 10,
        "stale_reads": stale,
        "holds_after_stale_read": stale,
        "stale_share": stale / 10,
    }
    summary = {"reads": {**counts, "by_window": windows or {}, "sources": {}}}
    return SimpleNamespace(label=label, variant=SimpleNamespace(summary=summary))


def test_a_replica_variant_gets_a_row_per_window_after_its_measured_window() -> None:
    window = {
        "replication-link-delay latency_ms=2000": {
            "read_sources": {"replica": 4},
            "stale_reads": 3,
        }
    }
    reports = [
        variant("primary", {"primary": 10}, 0),
        variant("replica", {"replica": 10}, 5, window),
    ]
    rows = stale_read_rows(reports)
    assert [(r["variant"], r["window"], r["stale_reads"]) for r in rows] == [
        ("primary", WHOLE_LOAD, 0),
        ("replica", WHOLE_LOAD, 5),
        ("replica", "replication-link-delay latency_ms=2000", 3),
    ]
    html = stale_reads(reports)  # type: ignore[arg-type]
    assert "<h2>Stale reads</h2>" in html and "replica 10" in html


def test_runs_that_read_only_the_primary_or_predate_the_counts_show_no_table() -> None:
    old = SimpleNamespace(label="old", variant=SimpleNamespace(summary={}))
    unjudged = SimpleNamespace(
        label="no db", variant=SimpleNamespace(summary={"reads": {"stale_reads": None}})
    )
    assert stale_read_rows([variant("primary", {"primary": 10}, 0), old, unjudged]) == []
    assert stale_reads([old]) == ""  # type: ignore[list-item]
    assert stale_read_rows([variant("cached", {"cache": 10}, 1)])[0]["stale_reads"] == 1
