"""Process sampling with psutil, and the load-generator bottleneck verdict."""

import os
import subprocess
import sys

from profiling.sampler import ProcessSampler, Sample, generator_bottleneck


def test_a_process_tree_is_sampled_child_by_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        sampler = ProcessSampler({"tests": os.getpid()})
        sampler.sample_once()
        batch = sampler.sample_once()
        pids = {s.pid for s in batch}
        assert {os.getpid(), child.pid} <= pids
        mine = next(s for s in batch if s.pid == os.getpid())
        assert mine.rss_bytes > 0 and mine.fds > 0 and mine.threads >= 1
    finally:
        child.kill()
        child.wait()


def test_a_gone_process_yields_no_samples() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert ProcessSampler({"gone": child.pid}).sample_once() == []


def samples(values: list[float], role: str = "locust") -> list[Sample]:
    return [Sample(float(i), role, 1, v, 0, 0, 1) for i, v in enumerate(values)]


def test_a_pinned_generator_is_the_bottleneck() -> None:
    verdict = generator_bottleneck(samples([99, 98, 100, 97, 40]))
    assert verdict.saturated
    assert verdict.busy_share == 0.8


def test_an_idle_generator_is_not_the_bottleneck() -> None:
    verdict = generator_bottleneck(samples([30, 45, 99, 20, 35, 50, 40, 30, 20, 10]))
    assert not verdict.saturated


def test_without_generator_samples_there_is_no_verdict_of_saturation() -> None:
    verdict = generator_bottleneck(samples([100, 100], role="service"))
    assert not verdict.saturated
    assert "no samples" in verdict.evidence
