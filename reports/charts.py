"""Charts as PNG bytes, for embedding in a self-contained page.

matplotlib is driven through ``Figure`` objects and the Agg renderer only — never pyplot —
so building a report needs no display, keeps no global figure state, and cannot pop a
window. Every time axis counts seconds from the variant's load start, the same clock as
``stats.csv``; the warm-up and every fault window are shaded on each panel so a latency spike
can be read against what the nemesis was doing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from reports.rundir import Variant
from reports.tables import ALL, CUT_OFF, Window, classify, measured, percentile_curve

DPI = 96
WIDTH_IN = 10.0
PANEL_IN = 2.3
MAX_LINES = 8
WARMUP_COLOUR = "#9e9e9e"
FAULT_COLOUR = "#e53935"
# resources.csv column → (axis label, divisor), in panel order.
RESOURCE_PANELS = {
    "cpu_percent": ("CPU, % of one core", 1.0),
    "rss_bytes": ("memory (RSS), MiB", 1024.0 * 1024.0),
    "fds": ("open file descriptors", 1.0),
}
OUTCOME_COLOURS = {"ok": "#2e7d32", "refused": "#757575", "errors": "#c62828"}


def png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _origin(variant: Variant, window: Window) -> float | None:
    if window.load_start is not None:
        return window.load_start
    starts = [frame["t"].min() for frame in (variant.resources, variant.lag) if not frame.empty]
    return float(min(starts)) if starts else None


def _shade(
    axes: Axes, window: Window, faults: pd.DataFrame, t0: float, x_end: float, labelled: bool
) -> None:
    """Grey warm-up and red fault spans; only the first panel labels them in its legend."""
    if window.warmup_s > 0:
        label = "warm-up" if labelled else None
        axes.axvspan(0, window.warmup_s, color=WARMUP_COLOUR, alpha=0.25, lw=0, label=label)
    for i, fault in enumerate(faults.itertuples(index=False)):
        end = x_end if pd.isna(fault.end) else fault.end - t0
        axes.axvspan(
            fault.start - t0,
            end,
            color=FAULT_COLOUR,
            alpha=0.12,
            lw=0,
            label="fault" if labelled and i == 0 else None,
        )


def _label_faults(axes: Axes, faults: pd.DataFrame, t0: float) -> None:
    for fault in faults.itertuples(index=False):
        axes.annotate(
            str(fault.kind),
            xy=(fault.start - t0, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, -2),
            textcoords="offset points",
            va="top",
            fontsize=7,
            color=FAULT_COLOUR,
        )


def _legend(axes: Axes, **kwargs: object) -> None:
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), **kwargs)


def _log_if_positive(axes: Axes, values: pd.DataFrame | pd.Series | np.ndarray) -> None:
    """A log scale (tails span decades) with plain numbers, not 6×10², on the ticks."""
    if not (np.asarray(values, dtype=float) > 0).any():
        return
    axes.set_yscale("log")
    axes.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axes.yaxis.set_minor_formatter(NullFormatter())


def _top(names: pd.Series, limit: int = MAX_LINES) -> list[str]:
    return list(names.value_counts().index[:limit])


def timeline(variant: Variant, window: Window, title: str) -> bytes | None:
    """Throughput and latency per second, then resources per role (CPU, memory, open files —
    the leak stories; each role's processes summed, the whole machine's CPU beside them) and
    replica lag, each when recorded.

    Throughput counts completions per second by outcome; latency is each operation's p95
    per second of its scheduled start (interpolated — a chart, not a statistic; the exact
    figures are in the tables), on a log scale because tails span decades.
    """
    t0 = _origin(variant, window)
    if t0 is None:
        return None
    ops, faults = variant.ops, variant.faults
    resources, lag = variant.resources, variant.lag
    panels = ["throughput", "latency"] if not ops.empty else []
    panels += [p for p in RESOURCE_PANELS if p in resources and resources[p].notna().any()]
    if not lag.empty:
        panels.append("lag")
    if not panels:
        return None

    height = PANEL_IN * len(panels) + 0.8
    figure = Figure(figsize=(WIDTH_IN, height))
    # Fixed margins rather than constrained layout: it measured 3× slower to draw, and the
    # legends sit in a fixed right-hand gutter anyway.
    figure.subplots_adjust(
        left=0.08, right=0.84, top=1 - 0.45 / height, bottom=0.5 / height, hspace=0.12
    )
    axes_list = figure.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    x_start, x_end = _x_range(variant, t0)
    for i, (panel, axes) in enumerate(zip(panels, axes_list, strict=True)):
        _shade(axes, window, faults, t0, x_end, labelled=i == 0)
        if panel == "throughput":
            _throughput(axes, ops, t0, _full_seconds(window, t0))
        elif panel == "latency":
            _latency(axes, ops, t0, _full_seconds(window, t0))
        elif panel in RESOURCE_PANELS:
            _per_role(axes, resources, t0, panel)
            if panel == "cpu_percent":
                _machine_cpu(axes, variant.machine, t0)
        else:
            _lag(axes, lag, t0)
        axes.grid(True, alpha=0.3)
        _legend(axes)
    _label_faults(axes_list[0], faults, t0)
    axes_list[0].set_title(title, loc="left", fontsize=10)
    axes_list[-1].set_xlabel("seconds since load start")
    axes_list[-1].set_xlim(left=x_start, right=x_end)
    return png(figure)


def _x_range(variant: Variant, t0: float) -> tuple[float, float]:
    """From load start (or the first resource sample, if earlier) to the last thing seen."""
    times: list[float] = []
    if not variant.ops.empty:
        times += [variant.ops["scheduled"].min(), variant.ops["end"].max()]
    for frame in (variant.resources, variant.lag):
        if not frame.empty:
            times += [frame["t"].min(), frame["t"].max()]
    if not variant.faults.empty:
        times += list(variant.faults[["start", "end"]].to_numpy(dtype=float).ravel())
    offsets = [float(t) - t0 for t in times if pd.notna(t)]
    return min([*offsets, 0.0]), max([*offsets, 1.0])


def _full_seconds(window: Window, t0: float) -> int | None:
    """How many whole seconds the load lasted: a last, partial second would read as a drop
    in throughput and (only its fastest requests answered) in latency, so it is not drawn."""
    return None if window.end is None else math.floor(window.end - t0)


def _throughput(axes: Axes, ops: pd.DataFrame, t0: float, seconds: int | None) -> None:
    flags = classify(ops)[["ok", "refused", "errors"]]
    per_second = (
        flags.assign(second=np.floor(ops["end"] - t0).astype("int64")).groupby("second").sum()
    )
    if seconds is not None:
        per_second = per_second[per_second.index < seconds]
    if per_second.empty:
        return
    full = pd.RangeIndex(per_second.index.min(), per_second.index.max() + 1)
    per_second = per_second.reindex(full, fill_value=0)
    for column, colour in OUTCOME_COLOURS.items():
        if per_second[column].any():
            axes.plot(per_second.index + 0.5, per_second[column], color=colour, lw=1, label=column)
    axes.set_ylabel("ops/s completed")
    axes.set_ylim(bottom=0)


def _latency(axes: Axes, ops: pd.DataFrame, t0: float, seconds: int | None) -> None:
    names = _top(ops["name"])
    chosen = ops[ops["name"].isin(names) & ops["outcome"].ne(CUT_OFF)]
    if seconds is not None:
        chosen = chosen[chosen["scheduled"] - t0 < seconds]
    second = np.floor(chosen["scheduled"] - t0).astype("int64")
    p95 = chosen.groupby([second.rename("second"), chosen["name"]])["latency_ms"].quantile(0.95)
    table = p95.unstack("name")
    for name in names:
        if name in table:
            series = table[name].dropna()
            axes.plot(series.index + 0.5, series.to_numpy(), lw=1, label=name)
    _log_if_positive(axes, table)
    axes.set_ylabel("p95 latency (ms)")


LAG_LINES = {
    "heartbeat_lag_s": ("heartbeat", "#6a1b9a"),
    "seconds_behind_master": ("Seconds_Behind_Master", "#ef6c00"),
    "seconds_behind_primary": ("seconds behind primary", "#6a1b9a"),
}


def _lag(axes: Axes, lag: pd.DataFrame, t0: float) -> None:
    """The heartbeat's lag beside what the replica claims; the samples where the replica
    said NULL are marked on the axis, since a missing line would read as 'no lag'."""
    x = lag["t"] - t0
    for column, (label, colour) in LAG_LINES.items():
        if column in lag and lag[column].notna().any():
            axes.plot(x, lag[column], color=colour, lw=1, label=label, drawstyle="steps-post")
    if "seconds_behind_master" in lag and "heartbeat_lag_s" in lag:
        null = lag["seconds_behind_master"].isna() & lag["heartbeat_lag_s"].notna()
        if null.any():
            axes.plot(
                x[null], np.zeros(int(null.sum())), "|", color="#ef6c00", ms=8,
                label="SBM = NULL",
            )  # fmt: skip
    axes.set_ylabel("replica lag (s)")
    axes.set_ylim(bottom=0)


def _per_role(axes: Axes, resources: pd.DataFrame, t0: float, column: str) -> None:
    """One line per role, summing its processes (several service workers are one role).

    Each process is averaged within a second first, so a sampler that happens to land twice
    in one second does not double a role's usage."""
    keys = [
        np.floor(resources["t"] - t0).rename("second"),
        resources["role"].astype(str),
        resources["pid"].fillna(-1) if "pid" in resources else pd.Series(-1, resources.index),
    ]
    per_process = resources.groupby(keys)[column].mean()
    per_role = per_process.groupby(level=[0, 1]).sum()
    table = per_role.unstack(1).sort_index() / RESOURCE_PANELS[column][1]
    for role in table.columns[:MAX_LINES]:
        series = table[role].dropna()
        axes.plot(series.index, series.to_numpy(), lw=1, label=role)
    axes.set_ylabel(RESOURCE_PANELS[column][0])
    axes.set_ylim(bottom=0)


def _machine_cpu(axes: Axes, machine: pd.DataFrame, t0: float) -> None:
    """The whole machine on the same scale as the roles (% of one core): what is above the
    lab's lines is other work."""
    if machine.empty or machine["cpu_percent"].isna().all():
        return
    busy = machine["cpu_percent"] * machine["cores"].fillna(1)
    axes.plot(machine["t"] - t0, busy, color="black", lw=1, ls="--", label="whole machine")
    axes.set_ylim(0, max(axes.get_ylim()[1], float(busy.max()) * 1.05))


# -- percentile distributions ---------------------------------------------------------------

_NINES_TICKS = (50, 90, 99, 99.9, 99.99, 100)


def _nines(percent: np.ndarray) -> np.ndarray:
    """x for the percentile axis: 0 at p0, one unit per nine (90 → 1, 99 → 2, …); max → 5."""
    with np.errstate(divide="ignore"):
        x = -np.log10(1.0 - np.asarray(percent, dtype=float) / 100.0)
    return np.where(np.isfinite(x), x, 5.0)


def percentile_chart(series: Sequence[tuple[str, Variant, Window]]) -> bytes | None:
    """Latency by percentile, one panel per operation (busiest first), one line per variant —
    the shape HdrHistogram plots, so tails of strategies or runs compare at a glance."""
    curves = {label: percentile_curve(variant, window) for label, variant, window in series}
    curves = {label: curve for label, curve in curves.items() if not curve.empty}
    if not curves:
        return None
    counts = pd.concat(
        [measured(v.ops, w)["name"] for label, v, w in series if label in curves],
        ignore_index=True,
    )
    operations = [ALL, *_top(counts, MAX_LINES - 1)]
    columns = 2
    rows = math.ceil(len(operations) / columns)
    height = 2.6 * rows + 0.4
    figure = Figure(figsize=(WIDTH_IN, height))
    figure.subplots_adjust(
        left=0.08, right=0.84, top=1 - 0.35 / height, bottom=0.45 / height, hspace=0.55, wspace=0.25
    )
    grid = figure.subplots(rows, columns, squeeze=False)
    percents = np.array([float(c[1:-3]) for c in next(iter(curves.values())).columns])
    x = _nines(percents)
    for axes, operation in zip(grid.flat, operations, strict=False):
        plotted = []
        for label, curve in curves.items():
            if operation in curve.index:
                values = curve.loc[operation].to_numpy(dtype=float)
                axes.plot(x, values, marker=".", lw=1, label=label)
                plotted.append(values)
        if plotted:
            _log_if_positive(axes, np.concatenate(plotted))
        ticks = [f"{t:g}" if t < 100 else "max" for t in _NINES_TICKS]
        axes.set_xticks(_nines(np.array(_NINES_TICKS)), ticks)
        axes.set_title("all operations" if operation == ALL else operation, fontsize=9)
        axes.set_xlabel("percentile", fontsize=8)
        axes.set_ylabel("latency (ms)", fontsize=8)
        axes.grid(True, alpha=0.3)
    for axes in list(grid.flat)[len(operations) :]:
        axes.set_visible(False)
    handles, labels = grid.flat[0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.85, 0.99), fontsize=8)
    return png(figure)
