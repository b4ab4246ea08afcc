"""Build report files: one run's ``report.html``, or a comparison of several runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from reports import html
from reports.comparison import Comparison, compare_runs
from reports.model import VariantReport, variant_report
from reports.rundir import Run, load_run

REPORT_NAME = "report.html"


def render_run(run: Run) -> str:
    reports = [variant_report(run, v, v.name) for v in run.variants]
    comparison = compare_runs([run], [(r.label, run, r.variant, r.window) for r in reports])
    return html.run_page(run, reports, comparison)


def run_labels(runs: Sequence[Run]) -> list[str]:
    """Each run's shortest telling name: its id without the parts every id shares (the
    date, the scenario), so ``20240610-061320-double-booking`` and
    ``20240610-072205-double-booking`` read ``061320`` and ``072205``."""
    ids = [run.run_id for run in runs]
    parts = [i.split("-") for i in ids]
    if len(ids) < 2 or len({len(p) for p in parts}) != 1:
        return ids
    telling = [k for k in range(len(parts[0])) if len({p[k] for p in parts}) > 1]
    labels = ["-".join(p[k] for k in telling) for p in parts]
    return labels if telling and len(set(labels)) == len(labels) else ids


def render_comparison(runs: Sequence[Run]) -> str:
    return _comparison(runs)[0]


def _comparison(runs: Sequence[Run]) -> tuple[str, Comparison]:
    """Every variant of every run side by side, labelled ``run / variant`` (the run by the
    part of its id that tells it apart; dropped when only one run is given, and the variant
    name when a run has only one)."""
    reports: list[VariantReport] = []
    labels = run_labels(runs)
    for run, label in zip(runs, labels, strict=True):
        for variant in run.variants:
            parts = [label] if len(runs) > 1 else []
            if len(run.variants) > 1 or not parts:
                parts.append(variant.name)
            reports.append(variant_report(run, variant, " / ".join(parts)))
    comparison = compare_runs(runs, [(r.label, r.run, r.variant, r.window) for r in reports])
    return html.comparison_page(runs, reports, comparison, labels), comparison


def _write(path: Path, content: str) -> Path:
    """Through a temporary name, so a reader never opens half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)
    return path


def build_report(run_dir: Path | str, out: Path | str | None = None) -> Path:
    """Write the run's report (by default ``RUN_DIR/report.html``) and return its path."""
    run = load_run(run_dir)
    return _write(Path(out) if out else run.path / REPORT_NAME, render_run(run))


def build_comparison(
    run_dirs: Sequence[Path | str], out: Path | str | None = None, now: datetime | None = None
) -> Path:
    """Write a comparison page; by default beside the first run, as
    ``compare-<timestamp>.html`` in its parent (``runs/``)."""
    return compare(run_dirs, out, now)[0]


def compare(
    run_dirs: Sequence[Path | str], out: Path | str | None = None, now: datetime | None = None
) -> tuple[Path, Comparison]:
    """:func:`build_comparison`, also returning what was found (for ``ticketlab compare``)."""
    runs = [load_run(d) for d in run_dirs]
    if out is None:
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        out = runs[0].path.parent / f"compare-{stamp}.html"
    page, comparison = _comparison(runs)
    return _write(Path(out), page), comparison
