"""The Prometheus multiprocess directory a server makes for itself, and the ones killed
servers left behind.

Every worker writes its metrics as files there; a server that stops cleanly removes the
directory, but one that is killed (SIGKILL, a crash, a test that kills it on purpose)
cannot. The directory's name carries the pid of the process that made it, so the next one
to start removes every directory whose maker is gone, and ``/tmp`` does not fill up with
them over a day of runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "ticketlab-metrics-"


def make_metrics_dir(root: Path | None = None) -> Path:
    """A fresh directory named after this process, after sweeping up the dead ones'."""
    base = Path(root) if root is not None else Path(tempfile.gettempdir())
    sweep_orphans(base)
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))


def sweep_orphans(base: Path) -> list[Path]:
    """Removes the directories whose making process no longer runs; which it removed."""
    removed = []
    for path in base.glob(f"{PREFIX}*-*"):
        pid = path.name.removeprefix(PREFIX).split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
