"""What the resource sampler costs the process it samples: sampler on versus off.

``python -m profiling.overhead [--seconds S] [--rounds N]`` runs a worker-like child (a
Python loop that allocates and holds sockets, so USS and the socket census have work to
do) for S seconds with nobody sampling it, then for S seconds under a sampler at 1/s with
the detailed sample on, alternating N times, and prints the child's work per second in
each state, their ratio, and the sampler's own CPU per tick. Alternating rounds put the
same machine noise on both sides; a ratio near 1 says the sample is cheap enough to leave
on. The machine's other load moves both numbers, never only one.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

from profiling.sampler import ProcessSampler

CHILD = """
import socket, sys, time
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(64)
pairs = []
for _ in range(20):
    c = socket.create_connection(server.getsockname()); a, _ = server.accept(); pairs += [c, a]
print("ready", flush=True)
for line in sys.stdin:
    seconds = float(line)
    end, n, keep = time.perf_counter() + seconds, 0, []
    while time.perf_counter() < end:
        keep.append({"n": n, "body": b"x" * 64}); n += 1
        if len(keep) > 10000: keep.clear()
    print(n / seconds, flush=True)
"""


def measure(seconds: float = 5.0, rounds: int = 3) -> dict[str, float]:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        child.stdout.readline()
        off, on, ticks, cpu = [], [], 0, 0.0
        for _ in range(rounds):
            off.append(_work(child, seconds))
            sampler = ProcessSampler({"child": child.pid}, detail_roles=frozenset({"child"}))
            sampler.start()
            on.append(_work(child, seconds))
            sampler.stop()
            ticks, cpu = ticks + sampler.ticks, cpu + sampler.cpu_cost_s
        return {
            "off_per_s": statistics.median(off),
            "on_per_s": statistics.median(on),
            "ratio_on_off": statistics.median(on) / statistics.median(off),
            "sampler_cpu_ms_per_tick": 1000 * cpu / max(1, ticks),
        }
    finally:
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()


def _work(child: subprocess.Popen[str], seconds: float) -> float:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(f"{seconds}\n")
    child.stdin.flush()
    started = time.perf_counter()
    answer = float(child.stdout.readline())
    if time.perf_counter() - started > seconds * 5:
        raise RuntimeError("the child took five times its budget: the machine is swamped")
    return answer


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m profiling.overhead", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    result = measure(args.seconds, args.rounds)
    print(
        f"work/s sampler off {result['off_per_s']:,.0f}, on {result['on_per_s']:,.0f}: "
        f"ratio {result['ratio_on_off']:.3f}; sampler "
        f"{result['sampler_cpu_ms_per_tick']:.1f} ms CPU per tick"
    )


if __name__ == "__main__":
    main()
