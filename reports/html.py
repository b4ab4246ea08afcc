"""The report page: one self-contained HTML file, verdicts first.

Self-contained means it opens from an archived run directory, offline, years later: styles
are inline, charts are ``data:`` PNGs, there is no script, font or stylesheet to fetch.
Every piece of text from the run directory goes through :func:`esc` — error bodies,
counterexamples and names come from a system under test and may hold markup.

Order follows what a reader needs: did it pass (and if not, the counterexamples), can the
numbers be trusted (warnings), the numbers, the charts, then how to reproduce it.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

import pandas as pd

from reports.comparison import Comparison, Difference, label_of
from reports.glance import glance
from reports.model import VariantReport, percentile_png, run_verdict
from reports.rundir import Run
from reports.tables import combine

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;
max-width:1200px;padding:0 16px;color:#212121}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#666}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;
color:#fff;text-transform:uppercase;letter-spacing:.04em}
.pass{background:#2e7d32}.fail{background:#c62828}.unknown{background:#ef8f00}
.big{font-size:15px;padding:3px 12px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;vertical-align:top}
th{background:#f5f5f5;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.all td{font-weight:600;background:#fafafa}
details{margin:2px 0 8px}summary{cursor:pointer}
.warn{background:#fff3e0;border-left:4px solid #ef8f00;padding:8px 12px;margin:8px 0}
pre{background:#f5f5f5;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
img{max-width:100%;border:1px solid #eee;margin:6px 0}
.check{margin:4px 0 4px 8px}
.verdict-line{font-size:15px;margin:10px 0 4px}
ul.differences li{margin:2px 0}li.significant{font-weight:600}
"""

VERDICTS = ("pass", "fail", "unknown")


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def badge(verdict: Any, big: bool = False) -> str:
    cls = verdict if verdict in VERDICTS else "unknown"
    extra = " big" if big else ""
    return f'<span class="badge {cls}{extra}">{esc(verdict or "unknown")}</span>'


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def num(value: Any, digits: int = 1) -> str:
    if _missing(value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    number = float(value)
    if number.is_integer() and digits == 0:
        return f"{int(number):,}"
    return f"{number:,.{digits}f}"


def count(value: Any) -> str:
    return "—" if _missing(value) else f"{int(value):,}"


def percent(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value) * 100:.2f}%"


def text(value: Any) -> str:
    if _missing(value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list | tuple):
        return esc(json.dumps(value, sort_keys=True, default=str))
    return esc(value)


Column = tuple[str, str, Callable[[Any], str], bool]  # key, heading, formatter, numeric


def table(rows: Iterable[dict[str, Any]], columns: Sequence[Column], row_class=None) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for _, h, _, _ in columns)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{fmt(row.get(k))}</td>' if numeric else f"<td>{fmt(row.get(k))}</td>"
            for k, _, fmt, numeric in columns
        )
        cls = row_class(row) if row_class else ""
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image(data: bytes | None, alt: str) -> str:
    if data is None:
        return f'<p class="muted">No data to chart for {esc(alt)}.</p>'
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{encoded}">'


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f"<body>{body}</body></html>\n"
    )


# -- verdicts -----------------------------------------------------------------------------


def counterexamples(result: dict[str, Any]) -> str:
    examples = [e for e in result.get("counterexamples") or [] if isinstance(e, dict)]
    total = result.get("counterexample_count") or len(examples)
    if not examples:
        return ""
    keys: list[str] = []
    for example in examples:
        keys += [k for k in example if k not in keys]
    columns = [(k, k, text, False) for k in keys]
    shown = f"{len(examples)} counterexample{'s' if len(examples) != 1 else ''}"
    if total > len(examples):
        shown += f" (of {total:,})"
    opened = " open" if result.get("verdict") == "fail" else ""
    return f"<details{opened}><summary>{shown}</summary>{table(examples, columns)}</details>"


def check(result: dict[str, Any]) -> str:
    parts = [
        f'<div class="check">{badge(result.get("verdict"))} <strong>{esc(result.get("name"))}'
        f"</strong> — {esc(result.get('summary', ''))}"
    ]
    if result.get("expected_violation"):
        parts.append(
            f' <span class="muted">(this variant exists to show '
            f"{esc(result['expected_violation'])}; the verdict is inverted)</span>"
        )
    unsettled = result.get("unsettled") or []
    if unsettled:
        parts.append(f'<div class="muted">not settled: {esc(", ".join(map(str, unsettled)))}</div>')
    metrics = result.get("metrics") or {}
    if metrics:
        rendered = ", ".join(f"{esc(k)} = {text(v)}" for k, v in metrics.items())
        parts.append(f'<details><summary class="muted">measured</summary>{rendered}</details>')
    parts.append(counterexamples(result))
    parts.append("</div>")
    return "".join(parts)


def verdicts(reports: Sequence[VariantReport]) -> str:
    out = []
    for report in reports:
        checks = report.checks
        listed = "".join(check(r) for r in checks) or (
            '<div class="check muted">No check results recorded (checks.json missing or '
            "empty), so the verdict is unknown.</div>"
        )
        out.append(f"<h3>{badge(report.verdict)} {esc(report.label)}</h3>{listed}")
    return "".join(out)


# -- warnings -----------------------------------------------------------------------------


def warnings(runs: Sequence[Run], reports: Sequence[VariantReport]) -> str:
    items = []
    for run in runs:
        status = run.manifest.get("status")
        if status not in (None, "completed"):
            items.append(
                f"Run {esc(run.run_id)} is <strong>{esc(status)}</strong>: the numbers cover "
                "only what was recorded."
            )
    for report in reports:
        if report.row["generator_bottleneck"]:
            evidence = report.bottleneck_evidence
            if len(evidence) == 1 and isinstance(next(iter(evidence.values())), str):
                evidence = next(iter(evidence.values()))  # the runner's one-line reason
            detail = f" Evidence: <code>{text(evidence)}</code>" if evidence else ""
            items.append(
                f"<strong>{esc(report.label)}: the load generator was the bottleneck</strong> — "
                "throughput and latency describe Locust as much as the service; rerun with more "
                f"generator processes or fewer users.{detail}"
            )
    for report in reports:
        items += machine_warnings(report)
        routes = report.routes
        mismatched = routes[routes["mismatch"].eq(True)] if len(routes) else routes
        if len(mismatched):
            listed = ", ".join(esc(r) for r in mismatched["route"])
            items.append(
                f"<strong>{esc(report.label)}: client and server counts differ</strong> by more "
                f"than the requests in flight on {listed}: requests were lost or counted twice."
            )
    for report in reports:
        failed = report.variant.summary.get("nemesis_errors")
        if isinstance(failed, list) and failed:
            listed = "".join(f"<li>{esc(e)}</li>" for e in failed)
            items.append(
                f"<strong>{esc(report.label)}: some faults could not be applied</strong>, so "
                f"a shaded fault window may not have been in force:<ul>{listed}</ul>"
            )
    notes = [n for run in runs for n in run.all_notes()]
    if notes:
        listed = "".join(f"<li>{esc(n)}</li>" for n in notes)
        items.append(f"Some files could not be read as expected:<ul>{listed}</ul>")
    return "".join(f'<div class="warn">{item}</div>' for item in items)


OTHER_WORK_CORES = 0.25
STEAL_PERCENT = 5.0


def machine_warnings(report: VariantReport) -> list[str]:
    """Other work on the machine during the window: CPU none of the lab's processes used,
    steal, a load average above the cores."""
    machine = report.variant.summary.get("machine")
    if not isinstance(machine, dict) or not machine.get("samples"):
        return []
    label = esc(report.label)
    items = []
    other = machine.get("other_cpu_cores_mean")
    if isinstance(other, int | float) and other >= OTHER_WORK_CORES:
        items.append(
            f"<strong>{label}: other work took CPU during the run</strong> — on average "
            f"{other:.2f} of {machine.get('cores')} cores went to processes outside the lab "
            f"(machine {num(machine.get('cpu_percent_mean'))}% busy on average, load average "
            f"up to {num(machine.get('load_average_peak'), 2)}); latency and throughput may "
            "reflect that contention."
        )
    steal = machine.get("steal_percent_peak")
    if isinstance(steal, int | float) and steal >= STEAL_PERCENT:
        items.append(f"<strong>{label}: CPU steal up to {steal:.1f}%</strong> (the hypervisor).")
    return items


# -- numbers ------------------------------------------------------------------------------


VARIANT_COLUMNS: list[Column] = [
    ("variant", "variant", text, False),
    ("verdict", "verdict", badge, False),
    ("operations", "ops measured", count, True),
    ("cut_off", "cut off", count, True),
    ("window_s", "window (s)", num, True),
    ("throughput_per_s", "throughput (ops/s)", num, True),
    ("requests_per_s", "requests/s", num, True),
    ("locust_requests_per_s", "Locust req/s", num, True),
    ("error_rate", "error rate", percent, True),
    ("p95_ms", "p95 all (ms)", num, True),
    ("seats_held_twice", "seats held twice", count, True),
    ("seats_sold_twice", "seats sold twice", count, True),
    ("holds_granted", "holds granted", count, True),
    ("holds_refused_taken_or_limit", "holds refused: taken/limit (409)", count, True),
    ("holds_refused_contention", "holds refused: contention (503)", count, True),
    ("warmup_s", "warm-up excluded (s)", num, True),
]

ROUTE_COLUMNS: list[Column] = [
    ("variant", "variant", text, False),
    ("route", "route", lambda v: f"<code>{text(v)}</code>", False),
    ("client_answered", "client: answered", count, True),
    ("client_in_flight", "client: in flight (cut off)", count, True),
    ("server", "server counted", count, True),
    ("difference", "server − answered", count, True),
    ("mismatch", "beyond in-flight?", lambda v: "<b>yes</b>" if v is True else text(v), False),
]

OPERATION_COLUMNS: list[Column] = [
    ("variant", "variant", text, False),
    ("operation", "operation", text, False),
    ("count", "count", count, True),
    ("ok", "ok", count, True),
    ("refused", "refused (409)", count, True),
    ("errors", "errors", count, True),
    ("unknown", "of which unknown", count, True),
    ("cut_off", "cut off", count, True),
    ("error_rate", "error rate", percent, True),
    ("throughput_per_s", "ops/s", num, True),
    ("p50_ms", "p50 (ms)", num, True),
    ("p95_ms", "p95 (ms)", num, True),
    ("p99_ms", "p99 (ms)", num, True),
    ("max_ms", "max (ms)", num, True),
]

ERROR_COLUMNS: list[Column] = [
    ("variant", "variant", text, False),
    ("operation", "operation", text, False),
    ("kind", "kind", text, False),
    ("count", "count", count, True),
    ("status", "status", count, True),
    ("sample", "sample", lambda v: f"<code>{text(v)}</code>", False),
]


def _records(frame: pd.DataFrame, label: str) -> list[dict[str, Any]]:
    return [{"variant": label, **r} for r in frame.to_dict("records")]


WINDOW_NOTE = (
    '<p class="muted">Window: from the first request sent to the last answer received; the '
    "warm-up at its start is left out of every figure on this page. Counts, error rates and "
    "exact nearest-rank percentiles cover the operations scheduled after warm-up, without the "
    "<em>cut-off</em> ones (in flight when the load generator stopped: counted apart). "
    "Latency counts from the intended start when the load was open-model. Throughput is ok "
    "plus expected refusals (409) per second of the window; requests/s counts every answered "
    "HTTP request (a sign-in makes three), as Locust's own req/s does.</p>"
)


def numbers(reports: Sequence[VariantReport]) -> str:
    rows = [r.row for r in reports]
    operations = [row for r in reports for row in _records(r.operations, r.label)]
    errors = [row for r in reports for row in _records(r.errors, r.label)]
    routes = [row for r in reports for row in _records(r.routes, r.label)]
    out = [
        "<h2>Variants</h2>",
        WINDOW_NOTE,
        table(rows, VARIANT_COLUMNS),
        "<h2>Operations</h2>",
        table(
            operations,
            OPERATION_COLUMNS,
            row_class=lambda row: "all" if row.get("operation") == "(all)" else "",
        ),
        "<h2>Errors by kind</h2>",
        table(errors, ERROR_COLUMNS) if errors else '<p class="muted">No errors.</p>',
        "<h2>Client and server counts per route</h2>",
        '<p class="muted">Over the whole load, warm-up included (the service\'s counters cannot '
        "leave it out): requests the client got an answer to, those in flight when the "
        "generator stopped, and what the service counted at a final scrape after the last "
        "answer. A difference beyond the requests in flight is flagged.</p>",
        table(routes, ROUTE_COLUMNS) if routes else '<p class="muted">No route counts.</p>',
    ]
    return "".join(out)


def chart_section(reports: Sequence[VariantReport]) -> str:
    out = ["<h2>Charts</h2>"]
    if len(reports) > 1:
        out += ["<h3>Latency by percentile</h3>", image(percentile_png(reports), "percentiles")]
    else:
        out += [image(percentile_png(reports), "latency by percentile")]
    for report in reports:
        out.append(f"<h3>{esc(report.label)} over time</h3>")
        out.append(
            '<p class="muted">Grey: warm-up (not measured). Red: fault windows.</p>'
            if report.timeline_png
            else ""
        )
        out.append(image(report.timeline_png, report.label))
    return "".join(out)


# -- at a glance and differences ----------------------------------------------------------


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


# -- provenance ---------------------------------------------------------------------------


def _bytes(value: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:,.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    raise AssertionError("unreachable")


def _pairs(data: Any) -> str:
    if not isinstance(data, dict) or not data:
        return "—" if not data else text(data)
    rows = []
    for key, value in data.items():
        shown = text(value)
        if str(key).endswith("_bytes") and isinstance(value, int | float) and value >= 0:
            shown = esc(_bytes(float(value)))
        rows.append(f"<tr><th>{esc(key)}</th><td>{shown}</td></tr>")
    return "".join(rows)


def manifest(run: Run) -> str:
    m = run.manifest
    scenario = m.get("scenario") if isinstance(m.get("scenario"), dict) else {}
    general = {
        "run": run.run_id,
        "directory": str(run.path),
        "scenario": scenario.get("name", m.get("scenario")),
        "description": scenario.get("description"),
        "source": scenario.get("source"),
        "status": m.get("status"),
        "started": m.get("started_at"),
        "finished": m.get("finished_at"),
        "seed": m.get("seed"),
        "overrides": m.get("overrides"),
        "command": m.get("command"),
        "format version": m.get("format_version"),
    }
    out = [f"<table>{_pairs(general)}</table>"]
    for key, title in (("machine", "Machine"), ("code", "Code"), ("servers", "Servers")):
        if m.get(key):
            out.append(f"<h3>{title}</h3><table>{_pairs(m[key])}</table>")
    out.append(settings(run))
    return "".join(out)


def settings(run: Run) -> str:
    per_variant = {v.name: v.settings for v in run.variants if v.settings}
    if not per_variant:
        return ""
    keys = sorted({k for s in per_variant.values() for k in s})
    head = "".join(f"<th>{esc(n)}</th>" for n in per_variant)
    body = "".join(
        f"<tr><th>{esc(k)}</th>"
        + "".join(f"<td>{text(s.get(k))}</td>" for s in per_variant.values())
        + "</tr>"
        for k in keys
    )
    return f"<h3>Service settings</h3><table><tr><th></th>{head}</tr>{body}</table>"


def rerun(run: Run) -> str:
    command = run.manifest.get("rerun_command") or run.manifest.get("command")
    if not command:
        return '<p class="muted">The manifest records no rerun command.</p>'
    if isinstance(command, list):
        command = " ".join(map(str, command))
    return f"<pre><code>{esc(command)}</code></pre>"


# -- pages --------------------------------------------------------------------------------


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
        differences(comparison),
        chart_section(reports),
        "<h2>Run</h2>",
        manifest(run),
        "<h2>Rerun</h2>",
        rerun(run),
    ]
    return page(title, "".join(body))


def comparison_page(
    runs: Sequence[Run], reports: Sequence[VariantReport], comparison: Comparison | None = None
) -> str:
    summary = []
    for run in runs:
        own = [r for r in reports if r.run is run]
        scenario = run.manifest.get("scenario")
        name = scenario.get("name") if isinstance(scenario, dict) else scenario
        summary.append(
            f"<h3>{badge(run_verdict(run, own))} {esc(run.run_id)} "
            f'<span class="muted">{esc(name or "")}</span></h3>'
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
        differences(comparison),
        chart_section(reports),
        "<h2>Runs</h2>",
        provenance,
    ]
    return page("ticketlab comparison", "".join(body))
