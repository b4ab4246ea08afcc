"""``python -m scenarios.faults.overhead``: what the fault proxy costs with no toxic on.

Two workloads, each direct and through the proxy in alternating rounds within one run (so
both see the same machine): redis-benchmark GETs against the lab's Redis, with one client
(the latency a hop adds) and with many (throughput under concurrency) — the cheapest
round trip there is, so the worst case for a proxy — and a loop of ``SELECT 1`` on one
connection to the lab's primary, the kind of round trip the service makes. The answer is
a ratio of medians, proxied / direct, as the project measures speed.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

import pymysql

from scenarios.faults import lab
from scenarios.stack.binaries import require_binary
from scenarios.stack.paths import LabPaths
from scenarios.stack.stack import Stack

PART = "fault-proxy-bench"


def bench(binary: str, port: int, clients: int, requests: int) -> tuple[float, float, float]:
    """(requests per second, p50 ms, p99 ms) of one redis-benchmark GET round."""
    done = subprocess.run(
        [binary, "-h", "127.0.0.1", "-p", str(port), "-t", "get", "-n", str(requests),
         "-c", str(clients), "--csv"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    row = next(csv.DictReader(io.StringIO(done.stdout)))
    return float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"])


def select_loop(port: int, queries: int) -> tuple[float, float, float]:
    """(queries per second, p50 ms, p99 ms) of ``SELECT 1`` on one root connection."""
    conn = pymysql.connect(host="127.0.0.1", port=port, user="root", password="")
    took = []
    try:
        with conn.cursor() as cur:
            for _ in range(queries):
                began = time.perf_counter()
                cur.execute("SELECT 1")
                cur.fetchall()
                took.append(time.perf_counter() - began)
    finally:
        conn.close()
    took.sort()
    return queries / sum(took), took[len(took) // 2] * 1000, took[int(len(took) * 0.99)] * 1000


def report(label: str, runs: dict[str, list[tuple[float, float, float]]]) -> None:
    for i, name in enumerate(("ops/s", "p50 ms", "p99 ms")):
        direct = statistics.median(r[i] for r in runs["direct"])
        proxied = statistics.median(r[i] for r in runs["proxied"])
        ratio = proxied / direct
        print(f"{label:<18} {name:<7} {direct:>10.3f} {proxied:>10.3f}   {ratio:>8.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenarios.faults.overhead")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--queries", type=int, default=3000, help="SELECT 1 per round")
    args = parser.parse_args(argv)
    info = Stack().info()
    if info is None:
        print("the lab's stack is not up: run `ticketlab up` first", file=sys.stderr)
        return 2
    binary = require_binary("redis-benchmark")
    redis = urlsplit(info.redis_url)
    primary = urlsplit(info.db_url)
    paths = LabPaths.at(info.lab_dir)
    targets = {
        "redis": f"{redis.hostname}:{redis.port}",
        "primary": f"{primary.hostname}:{primary.port}",
    }
    proxy = lab.start(paths, ["redis", "primary"], targets, part=PART)
    try:
        print(f"{'workload':<18} {'measure':<7} {'direct':>10} {'proxied':>10}   proxied/direct")
        for clients in args.clients:
            runs: dict[str, list[tuple[float, float, float]]] = {"direct": [], "proxied": []}
            for _ in range(args.rounds):
                runs["direct"].append(bench(binary, redis.port or 6379, clients, args.requests))
                runs["proxied"].append(bench(binary, proxy.ports["redis"], clients, args.requests))
            report(f"redis GET c={clients}", runs)
        runs = {"direct": [], "proxied": []}
        for _ in range(args.rounds):
            runs["direct"].append(select_loop(primary.port or 3306, args.queries))
            runs["proxied"].append(select_loop(proxy.ports["primary"], args.queries))
        report("mariadb SELECT 1", runs)
    finally:
        lab.stop(paths, PART)
    return 0


if __name__ == "__main__":
    sys.exit(main())
