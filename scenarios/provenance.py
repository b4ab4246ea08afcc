"""Where a run ran: the machine, the code and the servers, for the manifest.

A number means little without its machine: two cores shared with other work read very
differently from eight idle ones, so the manifest keeps what a reader needs to judge.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from service import schema
from service.config import Settings


def machine() -> dict[str, Any]:
    import psutil

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_bytes": psutil.virtual_memory().total,
        "load_average": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def code_version() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "git_sha": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain")),
    }


def server_versions(settings: Settings) -> dict[str, str]:
    versions: dict[str, str] = {}
    with (
        contextlib.suppress(Exception),
        schema.connect(settings.db_admin) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT VERSION()")
        versions["mariadb"] = cur.fetchone()[0]
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        versions["redis"] = client.info("server")["redis_version"]
        client.close()
    return versions
