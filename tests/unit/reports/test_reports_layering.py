"""reports/ may depend only on the run-directory format (DESIGN.md, layout)."""

from __future__ import annotations

import ast

from tests.support.paths import ROOT

REPORTS = ROOT / "reports"
FORBIDDEN = ("scenarios", "service", "providers", "profiling", "dashboards", "tests")


def test_reports_import_nothing_else_of_the_lab() -> None:
    offenders = []
    for path in sorted(REPORTS.glob("**/*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not offenders
