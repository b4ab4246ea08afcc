"""``nox -s bench``'s plumbing on the tiny size: a service started the lab's way, wrk (or
the asyncio client) against it, a bare-SQL baseline beside it, the files written. No
figure is asserted: only that what was measured is what the files and ratios say."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from scenarios.bench import registry
from scenarios.bench.context import SIZES, BenchContext
from scenarios.bench.http_load import HttpLoad
from scenarios.bench.lab import BenchLab
from scenarios.bench.run import BenchResult, new_bench_dir, run_bench
from scenarios.stack.paths import LabPaths
from service import schema
from service.config import Settings


@dataclass(frozen=True)
class Ran:
    result: BenchResult
    database: str  # the bench's own, dropped when it closed


@pytest.fixture(scope="module")
def ran(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Ran:
    root = tmp_path_factory.mktemp("bench")
    out = new_bench_dir(root / "runs")
    lab = BenchLab.on(LabPaths.at(root / "lab"), settings, out)
    try:
        ctx = BenchContext(SIZES["tiny"], lab, HttpLoad.detect(out / "scripts"), out, log=print)
        selected = registry.select(registry.load_all(), ["holds"])
        result = run_bench(selected, ctx, {"started_at": "test"})
    finally:
        lab.close()
    return Ran(result, lab.base.db_admin.database)


@pytest.fixture(scope="module")
def bench(ran: Ran) -> BenchResult:
    return ran.result


def test_the_bench_writes_its_table_and_json(bench: BenchResult) -> None:
    assert bench.errors == {}
    document = json.loads((bench.out / "bench.json").read_text())
    assert document["format"] == 1
    assert document["size"] == "tiny"
    assert document["measurements"] == ["holds"]
    assert document["generator"] in ("wrk", "aiohttp")
    variants = [row["variant"] for row in document["rows"]]
    default = Settings().db_driver
    other = "asyncmy" if default == "aiomysql" else "aiomysql"
    assert variants == [
        "bare SQL (aiomysql), uncontended",
        "bare SQL (aiomysql), hot-spot",
        "bare SQL (asyncmy), uncontended",
        "bare SQL (asyncmy), hot-spot",
        *[
            f"conditional ({driver}), {pattern}"
            for driver in (default, other)
            for pattern in ("uncontended", "hot-spot")
        ],
    ]
    markdown = (bench.out / "bench.md").read_text()
    assert markdown == bench.markdown
    assert "| measurement | variant | value | baseline | ratio | notes |" in markdown
    assert markdown.count("\n| holds |") == 8


def test_ratios_are_the_measured_values_over_their_baselines(bench: BenchResult) -> None:
    rows = json.loads((bench.out / "bench.json").read_text())["rows"]
    bare = {
        row["extra"]["pattern"]: row["value"]
        for row in rows
        if row["baseline"] is None and row["extra"]["driver"] == "aiomysql"
    }
    measured = [row for row in rows if row["baseline"] is not None]
    assert measured
    for row in measured:
        assert row["baseline"] == bare[row["extra"]["pattern"]]
        assert row["value"] == row["extra"]["counts"].get("released", 0) / row["extra"]["seconds"]
        assert row["ratio"] == pytest.approx(row["value"] / row["baseline"])


def test_pairs_really_went_through_the_service(bench: BenchResult) -> None:
    rows = json.loads((bench.out / "bench.json").read_text())["rows"]
    for driver in ("aiomysql", "asyncmy"):
        pairs = next(r for r in rows if r["variant"] == f"conditional ({driver}), uncontended")
        assert pairs["extra"]["counts"].get("released", 0) > 0
        assert set(pairs["extra"]["statements"]) == {"hold", "release", "reservation", "confirm"}
        assert all(n > 0 for n in pairs["extra"]["statements"].values())
        assert (bench.out / "logs" / f"holds-conditional-{driver}" / "service.log").exists()


def test_the_bench_leaves_no_database_behind(ran: Ran, settings: Settings) -> None:
    assert ran.database.startswith("bench_")
    with schema.connect(settings.db_admin, database=False) as conn, conn.cursor() as cur:
        cur.execute("SHOW DATABASES LIKE %s", (ran.database,))
        assert cur.fetchall() == ()
