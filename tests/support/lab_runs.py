"""A ``ticketlab`` command run by an end-to-end test as a user would: its own lab
directory and vhost, and a way to tell it is in the middle of its load."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from scenarios.stack import LabPaths, processes
from tests.support.isolation import AMQP_BASE, fresh_vhost


def lab_env(lab_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETLAB_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    env["TICKETLAB_LAB_DIR"] = str(lab_dir)
    env["TICKETLAB_AMQP_URL"] = AMQP_BASE.rstrip("/") + "/" + fresh_vhost()
    return env


def loading(paths: LabPaths, runs: Path) -> bool:
    """The apps serve and Locust writes operations: the middle of a run."""
    service = processes.running(paths, "app-service")
    return service is not None and any(runs.glob("*/variants/*/operations*.jsonl"))
