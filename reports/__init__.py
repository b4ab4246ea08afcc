"""Run reports and comparison reports, built from run directories alone.

``python -m reports RUN_DIR`` writes ``RUN_DIR/report.html``; ``python -m reports compare
RUN_DIR RUN_DIR …`` puts runs and their variants side by side. This package reads files in
the run-directory format (``scenarios/rundir.py`` documents it) and imports nothing else of
the lab, so an archived run can be reported on anywhere pandas and matplotlib are installed.
"""

from __future__ import annotations

from reports.build import build_comparison, build_report, render_comparison, render_run
from reports.rundir import RunDirError, load_run

__all__ = [
    "RunDirError",
    "build_comparison",
    "build_report",
    "load_run",
    "render_comparison",
    "render_run",
]
