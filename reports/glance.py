"""The chart at the top of every report: the variants side by side at a glance.

Four panels — throughput, p95 of all operations, error rate, seats oversold (held twice
and sold twice, two bars) — one bar per variant, with the 95 % bootstrap interval of each
figure drawn as a whisker where there is one (``reports/comparison.py``), so overlapping
whiskers read as "maybe no difference" at a glance, before any table. The oversold seats
are counts from the checker: no interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.textpath import TextPath

from reports.bootstrap import interval
from reports.charts import DPI, png
from reports.comparison import Entry
from reports.tables import ALL

PANELS = (
    ("throughput_per_s", "throughput", "throughput (ops/s)", 1.0),
    ("p95_ms", "p95", "p95 latency, all ops (ms)", 1.0),
    ("error_rate", "error_rate", "error rate (%)", 100.0),
)
OVERSOLD = (
    ("seats_held_twice", "held twice", "#ef9a9a"),
    ("seats_sold_twice", "sold twice", "#c62828"),
)
BAR = "#1565c0"
WIDTH_IN = 12.0
LABEL_PT = 8


def _value(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def glance(rows: Sequence[Mapping[str, Any]], entries: Sequence[Entry]) -> bytes | None:
    """PNG of the four panels; ``rows`` are the report's variant rows, in page order."""
    if not rows:
        return None
    labels = [str(row["variant"]) for row in rows]
    by_label = {e.label: e for e in entries}
    height = 1.2 + 0.4 * len(rows)
    figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI)
    # Fixed margins, the left one from the labels' measured width, rather than constrained
    # layout: that drew this figure about three times slower, in every report.
    # TextPath measures in points, a little narrower than the rendered (hinted) text.
    label_pt = max(TextPath((0, 0), label, size=LABEL_PT).get_extents().width for label in labels)
    figure.subplots_adjust(
        left=min(0.5, (1.1 * label_pt / 72 + 0.25) / WIDTH_IN),
        right=1 - 0.2 / WIDTH_IN,
        top=1 - 0.3 / height,
        bottom=0.3 / height,
        wspace=0.12,
    )
    axes = figure.subplots(1, len(PANELS) + 1, sharey=True)
    positions = list(range(len(rows)))[::-1]
    for column, (key, metric, title, scale) in enumerate(PANELS):
        ax = axes[column]
        values = [_value(row, key) * scale for row in rows]
        ax.barh(positions, [0 if math.isnan(v) else v for v in values], color=BAR, alpha=0.8)
        for y, label, value in zip(positions, labels, values, strict=True):
            if math.isnan(value):
                ax.text(0, y, " —", va="center", fontsize=8, color="#757575")
                continue
            if label in by_label and ALL in by_label[label].figures:
                low, high = interval(by_label[label].figures[ALL].resampled[metric])
                if math.isfinite(low) and math.isfinite(high):
                    ax.plot([low * scale, high * scale], [y, y], color="#212121", lw=1.2)
            ax.text(value, y, f" {value:,.3g}", va="center", fontsize=8)
        _style(ax, title)
    oversold = axes[-1]
    for offset, (key, name, colour) in zip((0.2, -0.2), OVERSOLD, strict=True):
        values = [_value(row, key) for row in rows]
        ys = [y + offset for y in positions]
        shown = [0 if math.isnan(v) else v for v in values]
        oversold.barh(ys, shown, height=0.4, color=colour, label=name)
        for y, value in zip(ys, values, strict=True):
            text = " —" if math.isnan(value) else f" {value:,.0f}"
            oversold.text(0 if math.isnan(value) else value, y, text, va="center", fontsize=7)
    _style(oversold, "seats oversold")
    oversold.legend(fontsize=7, loc="lower right")
    axes[0].set_yticks(positions, labels)
    return png(figure)


def _style(ax: Axes, title: str) -> None:
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=LABEL_PT)
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.25)
