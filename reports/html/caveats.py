"""The warnings section: whether the numbers can be trusted — a run that did not complete,
a saturated machine or a CPU-bound load generator, client and server counts that disagree,
faults that could not be applied, files that could not be read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from reports.html.markup import Column, count, esc, num, percent, table, text
from reports.model import VariantReport
from reports.rundir import Run
from reports.tables import machine_row


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
