"""The report page: one self-contained HTML file, verdicts first.

Self-contained means it opens from an archived run directory, offline, years later: styles
are inline, charts are ``data:`` PNGs, there is no script, font or stylesheet to fetch.
Every piece of text from the run directory goes through :func:`esc` — error bodies,
counterexamples and names come from a system under test and may hold markup.

Order follows what a reader needs: did it pass (and if not, the counterexamples), can the
numbers be trusted (warnings), the numbers, the charts (then a step load's knee, the leak
verdicts and the profiles, where a run has them), then how to reproduce it. Each section
has its module here (``checks``, ``caveats``, ``figures``, ``comparisons``, ``knee``,
``leaks``, ``provenance``), built of the pieces in ``markup``; this module lays out the two
pages.
"""

from __future__ import annotations

from collections.abc import Sequence

from reports.comparison import Comparison
from reports.html.caveats import warnings
from reports.html.checks import verdicts
from reports.html.comparisons import at_a_glance, comparison_warnings, differences, verdict_line
from reports.html.figures import chart_section, numbers, stale_reads
from reports.html.knee import knee_section
from reports.html.leaks import leak_section, profile_section
from reports.html.markup import badge, esc, page
from reports.html.provenance import manifest, rerun
from reports.model import VariantReport, run_verdict
from reports.rundir import Run
from reports.tables import combine


def run_page(
    run: Run, reports: Sequence[VariantReport], comparison: Comparison | None = None
) -> str:
    verdict = run_verdict(run, reports)
    scenario = run.manifest.get("scenario")
    name = scenario.get("name") if isinstance(scenario, dict) else scenario
    title = f"{name or run.run_id} — {verdict}"
    body = [
        f"<h1>{esc(name or 'run')} {badge(verdict, big=True)}</h1>",
        f'<div class="muted">{esc(run.run_id)} · {esc(run.manifest.get("started_at", ""))}'
        f" · {len(reports)} variant{'s' if len(reports) != 1 else ''}</div>",
        verdict_line(verdict, comparison),
        at_a_glance(reports, comparison),
        '<h2 id="verdicts">Verdicts</h2>',
        verdicts(reports),
        warnings([run], reports),
        numbers(reports),
        stale_reads(reports),
        differences(comparison),
        chart_section(reports),
        knee_section(reports),
        leak_section(reports),
        profile_section(reports),
        "<h2>Run</h2>",
        manifest(run),
        "<h2>Rerun</h2>",
        rerun(run),
    ]
    return page(title, "".join(body))


def comparison_page(
    runs: Sequence[Run],
    reports: Sequence[VariantReport],
    comparison: Comparison | None = None,
    labels: Sequence[str] = (),
) -> str:
    summary = []
    for i, run in enumerate(runs):
        own = [r for r in reports if r.run is run]
        scenario = run.manifest.get("scenario")
        name = scenario.get("name") if isinstance(scenario, dict) else scenario
        label = labels[i] if i < len(labels) and labels[i] != run.run_id else None
        called = f" · labelled <strong>{esc(label)}</strong> below" if label else ""
        summary.append(
            f"<h3>{badge(run_verdict(run, own))} {esc(run.run_id)} "
            f'<span class="muted">{esc(name or "")}{called}</span></h3>'
        )
    provenance = "".join(
        f"<details><summary>{esc(run.run_id)}</summary>{manifest(run)}"
        f"<h3>Rerun</h3>{rerun(run)}</details>"
        for run in runs
    )
    body = [
        f"<h1>Comparison of {len(runs)} run{'s' if len(runs) != 1 else ''}</h1>",
        verdict_line(
            combine(run_verdict(r, [x for x in reports if x.run is r]) for r in runs), comparison
        ),
        comparison_warnings(comparison),
        at_a_glance(reports, comparison),
        '<h2 id="verdicts">Verdicts</h2>',
        "".join(summary),
        verdicts(reports),
        warnings(runs, reports),
        numbers(reports),
        stale_reads(reports),
        differences(comparison),
        chart_section(reports),
        "<h2>Runs</h2>",
        provenance,
    ]
    return page("ticketlab comparison", "".join(body))
