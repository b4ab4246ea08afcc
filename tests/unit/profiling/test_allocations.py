"""Allocation sites still alive, summed per line of the project's own code."""

from profiling.allocations import (
    PROJECT_ROOT,
    allocating_line,
    our_frame,
    stats_headline,
    top_sites,
)

JOURNAL = ("request_journal_middleware", str(PROJECT_ROOT / "service/http/defects.py"), 39)
VERIFY = ("verify_id_token", str(PROJECT_ROOT / "service/adapters/oidc.py"), 255)
JWT = ("verify", "/venv/lib/python3.11/site-packages/jwt/algorithms.py", 688)
LOOP = ("_run_once", "/usr/lib/python3.11/asyncio/base_events.py", 1922)


def test_a_site_is_the_innermost_project_frame_and_names_the_library_below_it() -> None:
    assert our_frame([JOURNAL, LOOP]) == "service/http/defects.py:39 (request_journal_middleware)"
    assert (
        our_frame([JWT, VERIFY, LOOP]) == "service/adapters/oidc.py:255 (verify_id_token) via jwt"
    )
    assert our_frame([LOOP]) is None


def test_sites_are_summed_and_the_allocating_line_is_our_own_allocation() -> None:
    records = [
        ([JWT, VERIFY], 5000, 40),
        ([JOURNAL, LOOP], 700, 2),
        ([JOURNAL, LOOP], 800, 3),
        ([LOOP], 9000, 90),
    ]
    sites = top_sites(records)
    assert [(s.site, s.bytes, s.allocations) for s in sites] == [
        ("(outside the project)", 9000, 90),
        ("service/adapters/oidc.py:255 (verify_id_token) via jwt", 5000, 40),
        ("service/http/defects.py:39 (request_journal_middleware)", 1500, 5),
    ]
    assert allocating_line(sites) == "service/http/defects.py:39 (request_journal_middleware)"
    assert allocating_line(sites[:2]) is None


def test_the_stats_headline_comes_from_memray_stats_json() -> None:
    stats = {
        "total_num_allocations": 12,
        "total_bytes_allocated": 3400,
        "metadata": {"peak_memory": 2000},
        "top_allocations_by_size": [{"location": "f:a.py:1", "size": 3000}],
    }
    text = stats_headline(stats)
    assert "total allocations: 12" in text and "peak memory: 2000 bytes" in text
    assert "  f:a.py:1: 3000 bytes" in text
