"""``python -m scenarios.bench [--only NAME ...] [--size tiny|default]`` (``nox -s bench``).

Brings the lab's servers up (``scenarios/stack``), makes the bench a database of its own
there, runs the selected measurements, prints the table and where the files are, and
leaves the lab as it found it: its database dropped, its broker objects deleted, servers
it started stopped. Exit 0 when every measurement ran, 1 when one failed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from scenarios import rundir
from scenarios.bench import registry
from scenarios.bench.context import SIZES, BenchContext
from scenarios.bench.http_load import HttpLoad
from scenarios.bench.lab import BenchLab
from scenarios.bench.run import new_bench_dir, run_bench
from scenarios.provenance import code_version, machine
from scenarios.stack.stack import Stack


def parse_args(argv: Sequence[str] | None, known: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="NAME",
        help=f"measurements to run (default all): {', '.join(known)}",
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--runs-dir", type=Path, default=rundir.RUNS_DIR)
    parser.add_argument("--lab-dir", type=Path, default=None, help="the lab (default .lab)")
    parser.add_argument(
        "--generator",
        choices=["wrk", "aiohttp"],
        default="wrk",
        help="HTTP load generator (wrk falls back to aiohttp when not installed)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    known = registry.load_all()
    args = parse_args(argv, list(known))
    try:
        selected = registry.select(known, args.only)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    started_at = datetime.now(UTC)
    out = new_bench_dir(args.runs_dir, started_at)
    stack = Stack(args.lab_dir)
    info = stack.up()
    lab = BenchLab.on(stack.paths, info.settings(key_prefix="bench"), out)
    try:
        ctx = BenchContext(
            size=SIZES[args.size],
            lab=lab,
            load=HttpLoad.detect(out / "scripts", prefer=args.generator),
            out=out,
        )
        header = {
            "started_at": started_at.isoformat(),
            "command": "nox -s bench -- " + " ".join(argv or sys.argv[1:]),
            "machine": machine(),
            "code": code_version(),
        }
        result = run_bench(selected, ctx, header)
    finally:
        lab.close()
        stack.delete_run_objects(lab.base.key_prefix)
        if info.started:
            stack.down()
    print(result.markdown)
    print(f"bench: {out / 'bench.json'}")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
