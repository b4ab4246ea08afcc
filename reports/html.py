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
from reports.tables import combine, machine_row, route_totals

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
.scroll{overflow-x:auto;margin:6px 0 12px}.scroll>table{margin:0}
table.wrap td{overflow-wrap:anywhere}
td.c{text-align:center}
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


def table(
    rows: Iterable[dict[str, Any]], columns: Sequence[Column], row_class=None, cls: str = ""
) -> str:
    """A table in a box that scrolls sideways, so no table is ever wider than the page."""
    head = "".join(f"<th>{esc(h)}</th>" for _, h, _, _ in columns)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{fmt(row.get(k))}</td>' if numeric else f"<td>{fmt(row.get(k))}</td>"
            for k, _, fmt, numeric in columns
        )
        cls = row_class(row) if row_class else ""
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    attr = f' class="{cls}"' if cls else ""
    return (
        f'<div class="scroll"><table{attr}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


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


UNIX_TIME_MIN = 1e9  # a number this large in a time-like field is a Unix time
TIME_KEYS = ("at", "from", "until", "start", "end", "time")


def _is_time(key: str, value: Any) -> bool:
    timed = any(part in TIME_KEYS for part in str(key).split("_"))
    return timed and isinstance(value, int | float) and value > UNIX_TIME_MIN


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
            return text
        return lambda v: f"{v - t0:+.2f} s" if _is_time(key, v) else text(v)

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
        out.append(
            listed
            or '<div class="check muted">No check results recorded (checks.json missing or '
            "empty), so the verdict is unknown.</div>"
        )
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
    items += machine_warning(reports)
    for report in reports:
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
BUSY_SHARE = 0.2  # the sampler's threshold: more than a fifth of the samples

CPU_BOUND = "Locust CPU-bound"
SATURATED = "machine saturated"
OTHER_WORK = "other work took CPU"
BOTTLENECK = "generator bottleneck"


def machine_findings(row: dict[str, Any]) -> list[str]:
    """What the sampler saw that puts a variant's numbers in doubt."""
    found = []
    busy = row["generator_cpu_busy_share"]
    if busy is not None and busy > BUSY_SHARE:
        found.append(CPU_BOUND)
    saturated = row["saturated_share"]
    if saturated is not None and saturated > BUSY_SHARE:
        found.append(SATURATED)
    other = row["other_cpu_cores_mean"]
    if other is not None and other >= OTHER_WORK_CORES:
        found.append(OTHER_WORK)
    steal = row["steal_percent_peak"]
    if steal is not None and steal >= STEAL_PERCENT:
        found.append(f"CPU steal up to {steal:.1f}%")
    if row["generator_bottleneck"] and not {CPU_BOUND, SATURATED} & set(found):
        found.append(BOTTLENECK)  # the runner said so; its evidence says why
    return found


MACHINE_COLUMNS: list[Column] = [
    ("variant", "variant", text, False),
    ("findings", "found", text, False),
    ("generator_cpu_peak_percent", "Locust CPU, peak (% of one core)", num, True),
    ("cpu_percent_mean", "machine busy, mean (% of all cores)", num, True),
    ("saturated_share", "samples with the machine ≥90% busy", percent, True),
    ("other_cpu_cores_mean", "CPU other work took (cores, mean)", lambda v: num(v, 2), True),
    ("load_average_peak", "load average, peak (1 min)", lambda v: num(v, 2), True),
    ("cores", "cores", count, True),
]


def machine_warning(reports: Sequence[VariantReport]) -> list[str]:
    """One warning for the whole page: which variants ran on a busy machine or with a
    CPU-bound generator, with the sampler's figures over each measured window."""
    rows = []
    for report in reports:
        row = machine_row(report.variant)
        findings = machine_findings(row) if row else []
        if findings:
            rows.append({"variant": report.label, **row, "findings": "; ".join(findings)})
    if not rows:
        return []
    seen = {f for r in rows for f in r["findings"].split("; ")}
    lines = []
    if CPU_BOUND in seen or BOTTLENECK in seen:
        lines.append(
            "<strong>The load generator may have set the pace</strong>: where Locust was "
            "CPU-bound, throughput and latency describe Locust as much as the service — rerun "
            "with more generator processes (<code>--processes</code>) or fewer users "
            "(<code>--users</code>)."
        )
    if seen - {CPU_BOUND, BOTTLENECK}:
        lines.append(
            "<strong>Other work took CPU during the run</strong>: the machine was busier than "
            "the lab's own processes make it, so the service and Locust both waited for CPU; "
            "latency and throughput reflect that contention, and runs on a quieter machine "
            "will differ."
        )
    evidence = [
        f"<li>{esc(r['variant'])}: <code>{text(r['generator_evidence'])}</code></li>"
        for r in rows
        if r["generator_evidence"]
    ]
    details = (
        f"<details><summary>the sampler's evidence</summary><ul>{''.join(evidence)}</ul></details>"
        if evidence
        else ""
    )
    return ["<br>".join(lines) + table(rows, MACHINE_COLUMNS) + details]


# -- numbers ------------------------------------------------------------------------------


def signed_percent(value: Any) -> str:
    return "—" if _missing(value) else f"{float(value) * 100:+.2f}%"


LOAD_COLUMNS: list[Column] = [
    ("variant", "variant", text, False),
    ("verdict", "verdict", badge, False),
    ("window_s", "window (s)", num, True),
    ("operations", "ops measured", count, True),
    ("cut_off", "cut off (apart)", count, True),
    ("throughput_per_s", "throughput (ops/s)", num, True),
    ("error_rate", "error rate", percent, True),
    ("p95_ms", "p95, all ops (ms)", num, True),
    ("requests_per_s", "answered requests/s", num, True),
    ("locust_cell", "Locust's own req/s", lambda v: v, True),
    ("locust_difference", "difference", signed_percent, True),
    ("warmup_s", "warm-up left out (s)", num, True),
]

SEAT_COLUMNS: list[Column] = [
    ("variant", "variant", text, False),
    ("seats_held_twice", "seats held twice", count, True),
    ("seats_sold_twice", "seats sold twice", count, True),
    ("holds_granted", "holds granted", count, True),
    ("holds_refused_taken_or_limit", "holds refused: taken or over the limit (409)", count, True),
    ("holds_refused_contention", "holds refused: contention (503)", count, True),
]

ROUTE_TOTAL_COLUMNS: list[Column] = [
    ("variant", "variant", text, False),
    ("routes", "routes", count, True),
    ("client_answered", "client: answered", count, True),
    ("client_in_flight", "client: in flight (cut off)", count, True),
    ("server", "server counted", count, True),
    ("difference", "server − answered", count, True),
    ("mismatched", "routes differing beyond in-flight", count, True),
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
    ("cut_off", "cut off (apart)", count, True),
    ("error_rate", "error rate", percent, True),
    ("throughput_per_s", "throughput (ops/s)", num, True),
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
    '<p class="muted">Every figure in these tables covers the <strong>measured '
    "window</strong>: from the first request sent to the last answer received, less the "
    "warm-up at its start. Counts, error rates and exact nearest-rank percentiles are over "
    "the operations scheduled after warm-up, without the <em>cut-off</em> ones (in flight "
    "when the load generator stopped: counted apart). Latency counts from the intended start "
    "when the load was open-model. Throughput is ok plus expected refusals (409) per second "
    "of the window. Answered requests/s counts HTTP requests (a sign-in makes three) the way "
    "Locust's own req/s does — requests answered, from its start to the last answer — so "
    "the two should agree within about 1 %.</p>"
)
LOCUST_CSV_NOTE = (
    '<p class="muted">† Locust\'s figure from its CSV, which it rewrites each second and not '
    "when it stops: up to a second stale.</p>"
)
ROUTE_NOTE = (
    '<p class="muted">Over the whole load, warm-up included (the service\'s counters cannot '
    "leave it out): requests the client got an answer to, those in flight when the "
    "generator stopped, and what the service counted at a final scrape after the last "
    "answer. A route whose difference exceeds its requests in flight is flagged.</p>"
)


def _locust_cell(row: dict[str, Any]) -> str:
    stale = row.get("locust_source") == "csv" and not _missing(row.get("locust_requests_per_s"))
    return num(row.get("locust_requests_per_s")) + (" †" if stale else "")


def numbers(reports: Sequence[VariantReport]) -> str:
    rows = [{**r.row, "locust_cell": _locust_cell(r.row)} for r in reports]
    operations = [row for r in reports for row in _records(r.operations, r.label)]
    errors = [row for r in reports for row in _records(r.errors, r.label)]
    routes = [row for r in reports for row in _records(r.routes, r.label)]
    totals = [{"variant": r.label, **found} for r in reports if (found := route_totals(r.routes))]
    stale = any(r.get("locust_source") == "csv" for r in rows)
    out = [
        "<h2>Variants</h2>",
        WINDOW_NOTE,
        "<h3>Load</h3>",
        table(rows, LOAD_COLUMNS),
        LOCUST_CSV_NOTE if stale else "",
        "<h3>Seats and holds</h3>",
        table(rows, SEAT_COLUMNS),
        "<h2>Operations</h2>",
        '<p class="muted">The measured window, as above.</p>',
        table(
            operations,
            OPERATION_COLUMNS,
            row_class=lambda row: "all" if row.get("operation") == "(all)" else "",
        ),
        "<h2>Errors by kind</h2>",
        '<p class="muted">The measured window; cut-off requests are not errors.</p>',
        table(errors, ERROR_COLUMNS) if errors else '<p class="muted">No errors.</p>',
        "<h2>Client and server counts per route</h2>",
        ROUTE_NOTE,
    ]
    if totals:
        out += [
            table(totals, ROUTE_TOTAL_COLUMNS),
            f"<details><summary>per route ({len(routes)} rows)</summary>"
            f"{table(routes, ROUTE_COLUMNS)}</details>",
        ]
    else:
        out.append('<p class="muted">No route counts.</p>')
    return "".join(out)


def chart_section(reports: Sequence[VariantReport]) -> str:
    out = ["<h2>Charts</h2>"]
    if len(reports) > 1:
        out += ["<h3>Latency by percentile</h3>", image(percentile_png(reports), "percentiles")]
    else:
        out += [image(percentile_png(reports), "latency by percentile")]
    out.append(
        '<p class="muted">Exact percentiles over the measured window, one line per variant; '
        "x counts nines (50, 90, 99, 99.9 …), latency on a log scale.</p>"
    )
    for report in reports:
        out.append(f"<h3>{esc(report.label)} over time</h3>")
        if report.timeline_png:
            out.append(f'<p class="muted">{timeline_note(report)}</p>')
        out.append(image(report.timeline_png, report.label))
    return "".join(out)


def timeline_note(report: VariantReport) -> str:
    """What the timeline shows, and what its shading means when there is any."""
    parts = [
        "The whole load, warm-up included, per second since the first request; the last, "
        "partial second is not drawn. CPU is in % of one core (200 = two cores busy), the "
        "whole machine's beside the lab's processes."
    ]
    if report.window.warmup_s > 0:
        parts.append("Grey: warm-up (not measured).")
    if not report.variant.faults.empty:
        parts.append("Red: fault windows.")
    return " ".join(parts)


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
        if key == "load_average" and isinstance(value, list) and len(value) == 3:
            shown = esc(" / ".join(num(v, 2) for v in value) + " (1 / 5 / 15 min, at start)")
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
    out = [f'<div class="scroll"><table class="wrap">{_pairs(general)}</table></div>']
    for key, title in (("machine", "Machine"), ("code", "Code"), ("servers", "Servers")):
        if m.get(key):
            out.append(f'<h3>{title}</h3><div class="scroll"><table>{_pairs(m[key])}</table></div>')
    out.append(settings(run))
    return "".join(out)


def settings(run: Run) -> str:
    """The service settings: those every variant shared once, then those that differ, side
    by side (long values wrap, so many variants still fit the page)."""
    per_variant = {v.name: v.settings for v in run.variants if v.settings}
    if not per_variant:
        return ""
    keys = sorted({k for s in per_variant.values() for k in s})
    values = {k: [s.get(k) for s in per_variant.values()] for k in keys}
    same = [k for k in keys if len(per_variant) > 1 and len({text(v) for v in values[k]}) == 1]
    differ = [k for k in keys if k not in same]
    out = ["<h3>Service settings</h3>"]
    if differ:
        head = "".join(f"<th>{esc(n)}</th>" for n in per_variant)
        body = "".join(
            f"<tr><th>{esc(k)}</th>" + "".join(f"<td>{text(v)}</td>" for v in values[k]) + "</tr>"
            for k in differ
        )
        caption = "Different per variant" if same else "Per variant"
        out.append(
            f'<p class="muted">{caption}:</p><div class="scroll"><table class="wrap">'
            f"<tr><th></th>{head}</tr>{body}</table></div>"
        )
    if same:
        body = "".join(f"<tr><th>{esc(k)}</th><td>{text(values[k][0])}</td></tr>" for k in same)
        out.append(
            f'<p class="muted">The same in every variant:</p><div class="scroll"><table>'
            f"{body}</table></div>"
        )
    return "".join(out)


def rerun(run: Run) -> str:
    command = run.manifest.get("rerun_command") or run.manifest.get("command")
    if not command:
        return '<p class="muted">The manifest records no rerun command.</p>'
    if isinstance(command, list):
        command = " ".join(map(str, command))
    return f"<pre><code>{esc(command)}</code></pre>"


# -- pages --------------------------------------------------------------------------------


def run_page(
    run: Run,
    reports: Sequence[VariantReport],
    comparison: Comparison | None = None,
    extra: Sequence[str] = (),
) -> str:
    """``extra``: further sections (leaks, profiles, the knee), after the charts."""
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
        *extra,
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
        differences(comparison),
        chart_section(reports),
        "<h2>Runs</h2>",
        provenance,
    ]
    return page("ticketlab comparison", "".join(body))
