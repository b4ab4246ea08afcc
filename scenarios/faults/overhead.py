"""``python -m scenarios.faults.overhead``: what the fault proxy costs with no toxic on.

redis-benchmark runs GETs against the lab's Redis directly and through the proxy, in
alternating rounds within one run (so both see the same machine), with one client (the
added latency of a hop) and with many (throughput under concurrency). The answer is a
ratio of medians, proxied / direct, as the project measures speed.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import subprocess
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

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
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    row = next(csv.DictReader(io.StringIO(done.stdout)))
    return float(row["rps"]), float(row["p50_latency_ms"]), float(row["p99_latency_ms"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scenarios.faults.overhead")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 50])
    args = parser.parse_args(argv)
    info = Stack().info()
    if info is None:
        print("the lab's stack is not up: run `ticketlab up` first", file=sys.stderr)
        return 2
    binary = require_binary("redis-benchmark")
    redis = urlsplit(info.redis_url)
    paths = LabPaths.at(info.lab_dir)
    proxy = lab.start(paths, ["redis"], {"redis": f"{redis.hostname}:{redis.port}"}, part=PART)
    try:
        print("clients  measure        direct    proxied   proxied/direct")
        for clients in args.clients:
            runs: dict[str, list[tuple[float, float, float]]] = {"direct": [], "proxied": []}
            for _ in range(args.rounds):
                runs["direct"].append(bench(binary, redis.port or 6379, clients, args.requests))
                runs["proxied"].append(bench(binary, proxy.ports["redis"], clients, args.requests))
            for i, name in enumerate(("req/s", "p50 ms", "p99 ms")):
                direct = statistics.median(r[i] for r in runs["direct"])
                proxied = statistics.median(r[i] for r in runs["proxied"])
                ratio = proxied / direct
                print(f"{clients:>7}  {name:<10} {direct:>10.3f} {proxied:>10.3f}   {ratio:>8.2f}")
    finally:
        lab.stop(paths, PART)
    return 0


if __name__ == "__main__":
    sys.exit(main())
