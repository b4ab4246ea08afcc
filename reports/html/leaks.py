"""The report's leak and profile sections: each worker's resources with the fitted line, the
verdict and the rule beside the chart; memray's allocation sites alive at the end; and
every profile file linked with its headline.

Reads only the run directory: ``leaks.json`` (the verdicts, with the slope and intercept
the line is drawn from), ``workers.csv`` (the samples) and ``profiles/profiles.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from reports.charts import DPI, png
from reports.html.markup import badge, esc, image, num, table
from reports.model import VariantReport

MIB = 1024 * 1024
BYTES = ("uss_bytes", "rss_bytes")
# The resources judged on their trailing minimum, over this many samples (as in the lab's
# profiling/leaks.py, which reports/ may not import).
FLOORED = ("pool_in_use",)
FLOOR_SAMPLES = 10
VERDICT_BADGE = {"LEAK": "fail", "NO LEAK": "pass", "INCONCLUSIVE": "unknown"}
VERDICT_COLOUR = {"LEAK": "#c62828", "NO LEAK": "#2e7d32", "INCONCLUSIVE": "#757575"}


def _scale(resource: str) -> tuple[float, str]:
    return (MIB, f"{resource} (MiB)") if resource in BYTES else (1.0, resource)


def leak_chart(workers: pd.DataFrame, verdict: dict[str, Any], t0: float) -> bytes | None:
    """One worker's resource over the run, the window's fitted line drawn over it."""
    resource, pid = verdict.get("resource"), verdict.get("pid")
    if workers.empty or resource not in workers.columns:
        return None
    own = workers[workers["pid"] == pid].dropna(subset=[resource])
    if own.empty:
        return None
    divisor, label = _scale(str(resource))
    figure = Figure(figsize=(4.6, 2.4), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.plot((own["t"] - t0) / 60, own[resource] / divisor, ".", ms=2, color="#1565c0")
    if resource in FLOORED:  # judged on its floor (profiling/leaks.py)
        low = own[resource].rolling(FLOOR_SAMPLES, min_periods=1).min()
        axes.plot((own["t"] - t0) / 60, low, "-", lw=1, color="#6a1b9a", label="floor")
        axes.legend(fontsize=7)
    slope, intercept = verdict.get("slope_per_s"), verdict.get("intercept")
    start, end = verdict.get("t_start"), verdict.get("t_end")
    colour = VERDICT_COLOUR.get(str(verdict.get("verdict")), "#757575")
    if slope is not None and intercept is not None and start is not None and end is not None:
        xs = [start, end]
        ys = [intercept, intercept + slope * (end - start)]
        axes.plot([(x - t0) / 60 for x in xs], [y / divisor for y in ys], "-", color=colour, lw=2)
    if start is not None:
        axes.axvspan(0, (start - t0) / 60, color="#9e9e9e", alpha=0.2, lw=0)
    axes.set_title(f"worker {pid} · {resource}: {verdict.get('verdict')}", fontsize=9)
    axes.set_xlabel("minutes since load start", fontsize=8)
    axes.set_ylabel(label, fontsize=8)
    axes.tick_params(labelsize=7)
    return png(figure)


def _slope_text(v: dict[str, Any]) -> str:
    divisor, _ = _scale(str(v.get("resource")))
    unit = " MiB" if divisor != 1 else ""

    def f(key: str) -> str:
        value = v.get(key)
        return "—" if value is None else f"{value / divisor:+,.3f}{unit}"

    parts = [f"{f('per_minute')}/min [{f('per_minute_low')}, {f('per_minute_high')}]"]
    if v.get("per_1k_requests") is not None:
        parts.append(
            f"{f('per_1k_requests')} per 1,000 requests [{f('per_1k_low')}, {f('per_1k_high')}]"
        )
    return "<br>".join(esc(p) for p in parts)


def _allocations(leaks: dict[str, Any]) -> str:
    sites = leaks.get("allocations") or []
    if not sites:
        return ""
    named = leaks.get("allocating_line")
    head = (
        f"<p>memray: the line of the service's own code that allocated the most memory "
        f"still alive at the end is <code>{esc(named)}</code>; sites marked "
        f"<em>via</em> a library are allocations that library made for that line.</p>"
        if named
        else ""
    )
    columns = [
        ("site", "allocation site (file:line, function)", esc, False),
        ("bytes", "bytes alive", lambda v: num(v, 0), True),
        ("allocations", "allocations alive", lambda v: num(v, 0), True),
    ]
    return head + table(sites, columns)


def sampler_note(cost: dict[str, Any]) -> str:
    """What the sampler itself cost this variant (its thread's CPU, measured)."""
    if not cost.get("ticks"):
        return ""
    return (
        f'<p class="muted">The sampler took {num(cost.get("cpu_ms_per_tick"), 1)} ms of CPU '
        f"per tick over {num(cost.get('ticks'), 0)} ticks "
        f"({num(100 * (cost.get('core_share') or 0), 1)}% of one core).</p>"
    )


def leak_section(reports: Sequence[VariantReport]) -> str:
    """Nothing for runs without leak verdicts."""
    parts: list[str] = []
    for report in reports:
        leaks = report.variant.leaks
        verdicts = leaks.get("verdicts") or []
        if not verdicts:
            continue
        t0 = report.window.load_start or min(v.get("t_start", 0) for v in verdicts)
        parts.append(f"<h3>{esc(report.label)}</h3>")
        parts.append(sampler_note(report.variant.summary.get("sampler") or {}))
        parts.append(
            '<p class="muted">Theil–Sen slope over the measured window (after warm-up, '
            "grey), 95% interval by Sen's method; the line is the fit, its colour the "
            "verdict.</p>"
        )
        for v in verdicts:
            verdict = str(v.get("verdict"))
            chart = image(leak_chart(report.variant.workers, v, t0), f"{v.get('resource')}")
            shown = badge(VERDICT_BADGE.get(verdict, "unknown"))
            # flex:none: a long rule beside the chart must not shrink the chart.
            parts.append(
                '<div style="display:flex;gap:1em;align-items:flex-start;margin:.5em 0">'
                f'<div style="flex:none">{chart}</div><div><p>{shown} '
                f"<strong>{esc(verdict)}</strong> · worker {esc(v.get('pid'))} · "
                f"{esc(v.get('resource'))}</p><p>{_slope_text(v)}</p>"
                f'<p class="muted">rule: {esc(v.get("rule"))}</p></div></div>'
            )
        parts.append(_allocations(leaks))
    if not parts:
        return ""
    return '<h2 id="leaks">Leaks</h2>' + "".join(parts)


def profile_section(reports: Sequence[VariantReport]) -> str:
    """Every profile file, linked relative to the report, with its headline."""
    parts: list[str] = []
    for report in reports:
        profiles = report.variant.profiles
        entries = profiles.get("files") or []
        notes = profiles.get("notes") or []
        if not entries and not notes:
            continue
        parts.append(f"<h3>{esc(report.label)} · {esc(profiles.get('profiler', ''))}</h3>")
        parts += [f'<p class="muted">{esc(n)}</p>' for n in notes]
        base = report.variant.path.relative_to(report.run.path)
        for entry in entries:
            href = esc(f"{base}/profiles/{entry.get('file')}")
            parts.append(
                f'<p><a href="{href}">{esc(entry.get("file"))}</a> '
                f'<span class="muted">{esc(entry.get("what", ""))}</span></p>'
            )
        top = profiles.get("top") or []
        if top:
            columns = [
                ("function", "function (file:line)", esc, False),
                ("self_share", "self time", lambda v: f"{float(v) * 100:.1f}%", True),
                ("self_s", "self time (s)", lambda v: num(v, 2), True),
            ]
            parts.append("<p>Top functions by self time, all workers:</p>" + table(top, columns))
        for name, headline in (profiles.get("headlines") or {}).items():
            parts.append(f"<details><summary>{esc(name)}</summary><pre>{esc(headline)}</pre>")
            parts.append("</details>")
    if not parts:
        return ""
    return '<h2 id="profiles">Profiles</h2>' + "".join(parts)
