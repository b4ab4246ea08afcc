"""reports/ may depend only on the run-directory format (DESIGN.md, layout)."""

from __future__ import annotations

from tests.support.imports import lab_imports
from tests.support.paths import ROOT

REPORTS = ROOT / "reports"
FORBIDDEN = ("scenarios", "service", "providers", "profiling", "dashboards", "tests")


def test_reports_import_nothing_else_of_the_lab() -> None:
    assert lab_imports(REPORTS, FORBIDDEN) == []
