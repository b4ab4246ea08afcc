"""The report's knee section: throughput and p95 against users for every step-load variant,
the knee marked, with the attribution and each step's evidence. Reads ``knee.json``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from reports.charts import DPI, png
from reports.html.markup import esc, image, num, table
from reports.model import VariantReport

EVIDENCE_COLUMNS = (
    ("pool_waiting", "pool waiters", 2),
    ("pool_in_use_share", "pool in use (share)", 2),
    ("lock_waits_per_s", "lock waits /s", 2),
    ("loop_lag_s", "loop lag (s)", 3),
    ("cpu_service_max", "worker CPU %", 0),
    ("cpu_mariadb", "MariaDB CPU %", 0),
    ("cpu_locust", "Locust CPU %", 0),
    ("cpu_machine", "machine CPU %", 0),
)


def knee_chart(found: Sequence[tuple[str, dict[str, Any]]]) -> bytes | None:
    """One panel of throughput (bars: the noise the knee finder allowed, ``noise_z``
    standard errors), one of p95, a line per variant, its knee circled."""
    if not found:
        return None
    figure = Figure(figsize=(10, 3.2), dpi=DPI, layout="constrained")
    left, right = figure.subplots(1, 2)
    for label, data in found:
        steps = data.get("steps") or []
        users = [s["users"] for s in steps]
        z = float(data.get("noise_z") or 0.0)
        spread = [z * (s.get("throughput_se") or 0.0) for s in steps]
        bars = left.errorbar(
            users, [s["throughput"] for s in steps], yerr=spread, fmt="o-", capsize=3, label=label
        )
        line = bars.lines[0]
        right.plot(users, [s.get("p95_ms") for s in steps], "o-", color=line.get_color())
        knee = data.get("knee") or {}
        if knee.get("users") is not None:
            left.plot(
                [knee["users"]],
                [knee["throughput"]],
                "o",
                ms=14,
                mfc="none",
                mew=2,
                color=line.get_color(),
            )
            left.annotate(
                f"knee: {knee['users']} users",
                (knee["users"], knee["throughput"]),
                xytext=(6, -14),
                textcoords="offset points",
                fontsize=8,
            )
            right.axvline(knee["users"], color=line.get_color(), ls=":", lw=1)
    left.set(xlabel="users", ylabel="successful operations / s", title="throughput")
    right.set(xlabel="users", ylabel="p95 latency (ms)", title="p95", yscale="log")
    left.legend(fontsize=8)
    return png(figure)


def knee_section(reports: Sequence[VariantReport]) -> str:
    found = [(r.label, r.variant.knee) for r in reports if r.variant.knee.get("steps")]
    if not found:
        return ""
    parts = [
        '<h2 id="knee">The knee</h2>',
        image(knee_chart(found), "throughput and p95"),
        '<p class="muted">Bars: each step\'s throughput give or take the noise the finder allows '
        "(2 standard errors of its per-second counts); the knee is the first step that cannot "
        "be told from the best while p95 climbs after it.</p>",
    ]
    for label, data in found:
        knee = data.get("knee") or {}
        parts.append(f"<h3>{esc(label)}</h3><p>{esc(knee.get('reason', ''))}</p>")
        if knee.get("attribution"):
            parts.append(f"<p><strong>Attribution:</strong> {esc(knee['attribution'])}</p>")
        rows = [{**s, **(s.get("evidence") or {})} for s in data.get("steps") or []]
        columns = [
            ("users", "users", lambda v: num(v, 0), True),
            ("throughput", "ok / s", lambda v: num(v, 1), True),
            ("throughput_se", "± s.e.", lambda v: num(v, 1), True),
            ("p95_ms", "p95 ms", lambda v: num(v, 0), True),
        ] + [(k, h, lambda v, d=d: num(v, d), True) for k, h, d in EVIDENCE_COLUMNS]
        parts.append(table(rows, columns))
    return "".join(parts)
