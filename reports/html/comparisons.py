"""The at-a-glance line and the differences between variants or runs, with their
confidence intervals."""

from __future__ import annotations

from collections.abc import Sequence

from reports.comparison import Comparison, Difference, label_of
from reports.glance import glance
from reports.html.markup import Column, badge, esc, image, num, percent, table, text
from reports.model import VariantReport


def verdict_line(verdict: str, comparison: Comparison | None) -> str:
    """The line under the title: the verdict, and what the comparison found."""
    found = f" · {esc(comparison.headline())}" if comparison is not None else ""
    return f'<p class="verdict-line"><strong>Verdict</strong> {badge(verdict)}{found}</p>'


def at_a_glance(reports: Sequence[VariantReport], comparison: Comparison | None) -> str:
    if len(reports) < 2 and not (comparison and comparison.differences):
        return ""
    entries = comparison.entries if comparison is not None else []
    return image(glance([r.row for r in reports], entries), "variants at a glance")


def _difference_cell(d: Difference) -> str:
    if not d.comparable:
        return "—"
    if d.kind == "points":
        return f"{d.estimate:+.2f} pts [{d.low:+.2f}, {d.high:+.2f}]"
    return f"×{d.estimate:.3g} [{d.low:.3g}, {d.high:.3g}]"


def _figure(d: Difference, value: float) -> str:
    return percent(value) if d.kind == "points" else num(value, 1)


DIFFERENCE_COLUMNS: list[Column] = [
    ("operation", "operation", text, False),
    ("metric", "figure", text, False),
    ("baseline", "baseline", text, False),
    ("other", "compared", text, False),
    ("baseline_value", "baseline value", lambda v: v, True),
    ("other_value", "compared value", lambda v: v, True),
    ("difference", "other ÷ baseline, or − (95 % CI)", lambda v: v, True),
    ("significant", "significant", text, False),
]


def differences(comparison: Comparison | None) -> str:
    if comparison is None or not comparison.differences:
        return ""
    items = "".join(
        f'<li class="significant">{esc(line)}</li>' if significant else f"<li>{esc(line)}</li>"
        for line, significant in comparison.lines()
    )
    rows = [
        {
            "operation": d.operation,
            "metric": label_of(d.metric),
            "baseline": d.baseline,
            "other": d.other,
            "baseline_value": _figure(d, d.baseline_value),
            "other_value": _figure(d, d.other_value),
            "difference": esc(_difference_cell(d)),
            "significant": d.significant,
        }
        for d in comparison.differences
    ]
    return (
        '<h2 id="differences">Differences</h2>'
        + '<p class="muted">Each difference with its 95 % bootstrap confidence interval: '
        "throughput and latency as a ratio (significant when the interval excludes 1), error "
        "rate in percentage points (when it excludes 0). Operations are resampled in blocks of "
        "consecutive seconds, so a slow spell counts as one event, not as thousands of "
        "independent ones. The intervals see the variation within each run, not between runs "
        "(repeat a run to see that), and are per comparison: among many comparisons of two "
        "identical setups, about one in twenty still looks significant.</p>"
        + f'<ul class="differences">{items}</ul>'
        + f"<details><summary>All {len(rows)} comparisons</summary>"
        + table(rows, DIFFERENCE_COLUMNS)
        + "</details>"
    )


def comparison_warnings(comparison: Comparison | None) -> str:
    """Runs from different machines, code or scenarios: said before any number."""
    shown = comparison.warnings if comparison is not None else []
    return "".join(f'<div class="warn">{esc(w)}</div>' for w in shown)
