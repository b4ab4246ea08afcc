"""The numbers and charts sections: load, seats, operations, errors and per-route counts
over the measured window, and the percentile and timeline charts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from reports.html.markup import Column, badge, count, esc, image, missing, num, percent, table, text
from reports.model import VariantReport, percentile_png
from reports.tables import route_totals


def signed_percent(value: Any) -> str:
    return "—" if missing(value) else f"{float(value) * 100:+.2f}%"


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
    ("stale_reads", "stale reads (seat shown free, already taken)", count, True),
    ("holds_refused_after_stale_read", "409s after a stale read", count, True),
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
    stale = row.get("locust_source") == "csv" and not missing(row.get("locust_requests_per_s"))
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
