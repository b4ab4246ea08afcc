"""The verdicts section: each checker's result with its counterexamples, and the matrix of
verdicts per variant."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reports.html.markup import VERDICTS, badge, esc, table, text
from reports.model import VariantReport

UNIX_TIME_MIN = 1e9  # a number this large in a time-like field is a Unix time
TIME_KEYS = ("at", "from", "until", "start", "end", "time")


def _is_time(key: str, value: Any) -> bool:
    timed = any(part in TIME_KEYS for part in str(key).split("_"))
    return timed and isinstance(value, int | float) and value > UNIX_TIME_MIN


def plain(value: Any) -> str:
    """A counterexample's value as a reader takes it in: floats to a sensible precision."""
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
    return text(value)


def counterexamples(result: dict[str, Any], t0: float | None = None) -> str:
    """The check's counterexamples; Unix times shown as seconds since the load started."""
    examples = [e for e in result.get("counterexamples") or [] if isinstance(e, dict)]
    total = result.get("counterexample_count") or len(examples)
    if not examples:
        return ""
    keys: list[str] = []
    for example in examples:
        keys += [k for k in example if k not in keys]
    timed = t0 is not None and any(_is_time(k, v) for e in examples for k, v in e.items())

    def cell(key: str) -> Callable[[Any], str]:
        if not timed:
            return plain
        return lambda v: f"{v - t0:+.2f} s" if _is_time(key, v) else plain(v)

    columns = [(k, k, cell(k), False) for k in keys]
    shown = f"{len(examples)} counterexample{'s' if len(examples) != 1 else ''}"
    if total > len(examples):
        shown += f" (of {total:,})"
    if timed:
        shown += "; times in seconds since the load started"
    opened = " open" if result.get("verdict") == "fail" else ""
    return f"<details{opened}><summary>{shown}</summary>{table(examples, columns)}</details>"


def check(result: dict[str, Any], t0: float | None = None) -> str:
    summary = str(result.get("summary", ""))
    parts = [
        f'<div class="check">{badge(result.get("verdict"))} <strong>{esc(result.get("name"))}'
        f"</strong> — {esc(summary)}"
    ]
    expected = result.get("expected_violation")
    if expected and str(expected) not in summary:
        parts.append(
            f' <span class="muted">(expected violation: {esc(expected)}; the verdict is '
            "inverted)</span>"
        )
    unsettled = result.get("unsettled") or []
    if unsettled:
        parts.append(f'<div class="muted">not settled: {esc(", ".join(map(str, unsettled)))}</div>')
    metrics = result.get("metrics") or {}
    if metrics:
        rendered = ", ".join(f"{esc(k)} = {text(v)}" for k, v in metrics.items())
        parts.append(f'<details><summary class="muted">measured</summary>{rendered}</details>')
    parts.append(counterexamples(result, t0))
    parts.append("</div>")
    return "".join(parts)


def verdict_matrix(reports: Sequence[VariantReport]) -> str:
    """Every variant against every check, one badge per cell: the run at a glance."""
    names: list[str] = []
    for report in reports:
        names += [str(c.get("name")) for c in report.checks if str(c.get("name")) not in names]
    if not names:
        return ""
    inverted = False
    rows = []
    for report in reports:
        by_name = {str(c.get("name")): c for c in report.checks}
        cells = [f"<td>{esc(report.label)}</td>", f"<td>{badge(report.verdict)}</td>"]
        for name in names:
            result = by_name.get(name)
            if result is None:
                cells.append('<td class="c muted">—</td>')
                continue
            mark = "*" if result.get("expected_violation") else ""
            inverted = inverted or bool(mark)
            cells.append(f'<td class="c">{badge(result.get("verdict"))}{mark}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in ("variant", "verdict", *names))
    note = (
        '<p class="muted">* expected violation: the variant exists to show it, so observing '
        "it passes.</p>"
        if inverted
        else ""
    )
    matrix = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="scroll">{matrix}</div>{note}'


def cut_short(report: VariantReport) -> str:
    """A warning under a variant's verdict when Locust ended its load well before the plan
    (``load_cut_short`` in summary.json): its figures describe a shorter load."""
    cut = report.variant.summary.get("load_cut_short")
    if not isinstance(cut, dict):
        return ""
    return (
        f'<div class="warn"><strong>Load cut short</strong>: ran {text(cut.get("ran_s"))} s of '
        f"a planned {text(cut.get('planned_s'))} s, so the figures below describe a shorter "
        f"load than planned and the verdict cannot be pass. Locust: {esc(cut.get('reason'))}"
        "</div>"
    )


def verdicts(reports: Sequence[VariantReport]) -> str:
    """The matrix, then each variant's checks: a variant that did not pass under its own
    heading, open; one that passed on one folded line."""
    out = [verdict_matrix(reports)]
    for report in reports:
        checks = report.checks
        listed = "".join(check(r, report.window.load_start) for r in checks)
        counted = ", ".join(
            f"{n} {v}" for v in VERDICTS if (n := sum(1 for r in checks if r.get("verdict") == v))
        )
        if report.verdict == "pass" and checks:
            out.append(
                f"<details><summary>{badge(report.verdict)} <strong>{esc(report.label)}"
                f"</strong> — {len(checks)} checks ({counted})</summary>{listed}</details>"
            )
            continue
        out.append(f"<h3>{badge(report.verdict)} {esc(report.label)}</h3>")
        out.append(cut_short(report))
        out.append(
            listed
            or '<div class="check muted">No check results recorded (checks.json missing or '
            "empty), so the verdict is unknown.</div>"
        )
    return "".join(out)
