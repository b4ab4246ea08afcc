"""Detailed samples of a real process that leaks descriptors, sockets and memory on purpose,
and a worker's own gauges read from real Prometheus multiprocess files."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from profiling.gauges import worker_values
from profiling.leaks import theil_sen
from profiling.sampler import ProcessSampler

LEAKER = textwrap.dedent(
    """
    import socket, sys, time
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(200)
    kept = []
    print("ready", flush=True)
    for _ in range(200):
        client = socket.create_connection(server.getsockname())
        accepted, _ = server.accept()
        kept += [client, accepted, bytearray(256 * 1024)]  # two sockets and 256 KiB a step
        time.sleep(0.02)
    time.sleep(60)
    """
)


def test_the_sampler_sees_a_process_leak_descriptors_sockets_and_memory() -> None:
    child = subprocess.Popen([sys.executable, "-c", LEAKER], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        sampler = ProcessSampler(
            {"leaker": child.pid}, detail_roles=frozenset({"leaker"}), census_every=1
        )
        for _ in range(8):
            sampler.sample_once()
            time.sleep(0.3)  # spaces the samples; nothing is waited for
        rows = [w.row() for w in sampler.workers]
        assert len(rows) == 8 and {r["kind"] for r in rows} == {"process"}
        first, last = rows[0], rows[-1]
        assert last["fds"] - first["fds"] >= 20
        assert last["sockets_established"] - first["sockets_established"] >= 20
        assert last["uss_bytes"] - first["uss_bytes"] >= 2 * 1024 * 1024
        fit = theil_sen([r["t"] for r in rows], [r["uss_bytes"] for r in rows])
        assert fit is not None and fit.low > 0
        assert sampler.cost()["ticks"] == 8 and sampler.cost()["cpu_s"] > 0
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


WORKER = textwrap.dedent(
    """
    from prometheus_client import Counter, Gauge
    in_use = Gauge("ticketlab_db_pool_in_use", "x", multiprocess_mode="livesum")
    lag = Gauge("ticketlab_event_loop_lag_seconds", "x", multiprocess_mode="max")
    gc = Gauge("ticketlab_gc_collections", "x", ["generation"], multiprocess_mode="livesum")
    requests = Counter("ticketlab_http_requests", "x", ["method", "route", "status"])
    in_use.set(7); lag.set(0.25); gc.labels(generation="2").set(3)
    requests.labels("GET", "/a", "200").inc(5); requests.labels("POST", "/b", "409").inc(2)
    """
)


def test_a_workers_own_gauges_are_read_from_its_multiprocess_files(tmp_path: Path) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    child = subprocess.run([sys.executable, "-c", WORKER], env=env, check=True)
    assert child.returncode == 0
    files = list(tmp_path.glob("*.db"))
    pid = int(files[0].stem.rsplit("_", 1)[1])
    values = worker_values(tmp_path, pid)
    assert values["pool_in_use"] == 7
    assert values["loop_lag_s"] == 0.25
    assert values["gc_gen2"] == 3
    assert values["requests"] == 7
    assert worker_values(tmp_path, pid + 1) == {}
