"""Locust's own figures: its closing summary's, preferred over its second-stale CSV."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from scenarios.locust_stats import read_locust_totals, write_final

CSV_HEADER = "Type,Name,Request Count,Failure Count,Requests/s\n"


def locust_stats(requests: int, failures: int, start: float, last: float) -> SimpleNamespace:
    """The parts of Locust's ``RequestStats`` the figures come from, as Locust keeps them."""
    total = SimpleNamespace(
        num_requests=requests, num_failures=failures, total_rps=requests / (last - start)
    )
    return SimpleNamespace(total=total, start_time=start, last_request_timestamp=last)


def write_stale_csv(prefix: Path, requests: int, rate: float) -> None:
    rows = f",GET /x,{requests},0,{rate}\n,Aggregated,{requests},1,{rate}\n"
    Path(f"{prefix}_stats.csv").write_text(CSV_HEADER + rows)


def test_the_closing_figures_are_preferred_to_the_csv_written_a_second_earlier(
    tmp_path: Path,
) -> None:
    prefix = tmp_path / "locust"
    write_stale_csv(prefix, 2483, 136.962)
    write_final(prefix, locust_stats(2606, 3, 100.0, 119.0), stopping_at=118.9)
    totals = read_locust_totals(prefix)
    assert totals == {
        "requests": 2606,
        "failures": 3,
        "requests_per_s": pytest.approx(2606 / 19.0, abs=1e-3),
        "seconds": pytest.approx(19.0),
        "stopping_at": 118.9,
        "source": "final",
    }


def test_without_closing_figures_the_csv_aggregated_row_is_used_and_said_to_be(
    tmp_path: Path,
) -> None:
    prefix = tmp_path / "locust"
    write_stale_csv(prefix, 2483, 136.962)
    totals = read_locust_totals(prefix)
    assert totals == {"requests": 2483, "failures": 1, "requests_per_s": 136.962, "source": "csv"}


def test_a_run_where_locust_left_no_figures_has_none(tmp_path: Path) -> None:
    Path(f"{tmp_path / 'locust'}_final.json").write_text("{not json")
    assert read_locust_totals(tmp_path / "locust") is None
