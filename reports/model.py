"""What a page shows about each variant, computed once and handed to the renderer.

Keeping the numbers (tables, charts) apart from the markup (html) lets the single-run and
comparison pages share both, and lets tests assert on numbers without parsing HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from reports import charts, tables
from reports.rundir import Run, Variant
from reports.tables import Window


@dataclass(frozen=True)
class VariantReport:
    label: str
    run: Run
    variant: Variant
    window: Window
    verdict: str
    row: dict[str, Any]
    operations: pd.DataFrame
    errors: pd.DataFrame
    routes: pd.DataFrame
    checks: list[dict[str, Any]]
    timeline_png: bytes | None

    @property
    def bottleneck_evidence(self) -> dict[str, Any]:
        """Whatever the runner recorded beside ``generator_bottleneck`` as its evidence."""
        summary = self.variant.summary
        return {
            k: v
            for k, v in summary.items()
            if k != "generator_bottleneck" and ("generator" in k or "bottleneck" in k)
        }


def variant_report(run: Run, variant: Variant, label: str) -> VariantReport:
    window = tables.window_of(variant)
    operations = tables.operation_table(variant, window)
    return VariantReport(
        label=label,
        run=run,
        variant=variant,
        window=window,
        verdict=tables.variant_verdict(variant),
        row=tables.variant_row(variant, label, window, operations),
        operations=operations,
        errors=tables.error_table(variant, window),
        routes=tables.route_table(variant),
        checks=tables.check_results(variant),
        timeline_png=charts.timeline(variant, window, label),
    )


def run_verdict(run: Run, reports: Sequence[VariantReport]) -> str:
    """The manifest's verdict when it has one; else the composition of the variants'."""
    verdict = run.manifest.get("verdict")
    if verdict in ("pass", "fail", "unknown"):
        return str(verdict)
    if not reports:
        return "unknown"
    return tables.combine(r.verdict for r in reports)


def percentile_png(reports: Sequence[VariantReport]) -> bytes | None:
    return charts.percentile_chart([(r.label, r.variant, r.window) for r in reports])
