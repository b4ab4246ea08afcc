"""A server's metrics directory is named after it, and the directories of servers that
were killed (and so could not remove theirs) are swept up by the next one to start."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from service.metrics_dir import PREFIX, make_metrics_dir, sweep_orphans


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_directory_is_named_after_the_process_that_made_it(tmp_path: Path) -> None:
    made = make_metrics_dir(tmp_path)
    assert made.is_dir()
    assert made.parent == tmp_path
    assert made.name.startswith(f"{PREFIX}{os.getpid()}-")


def test_a_killed_servers_directory_is_removed_by_the_next_start(tmp_path: Path) -> None:
    orphan = tmp_path / f"{PREFIX}{dead_pid()}-abc"
    orphan.mkdir()
    (orphan / "counter_1.db").write_bytes(b"x")
    made = make_metrics_dir(tmp_path)
    assert not orphan.exists()
    assert made.exists()


def test_a_running_servers_directory_and_unrelated_ones_are_kept(tmp_path: Path) -> None:
    live = tmp_path / f"{PREFIX}{os.getppid()}-abc"
    unnamed = tmp_path / f"{PREFIX}q1w2e3"  # the old naming, without a pid: not ours to judge
    other = tmp_path / "something-else-1"
    for path in (live, unnamed, other):
        path.mkdir()
    assert sweep_orphans(tmp_path) == []
    assert live.exists() and unnamed.exists() and other.exists()
