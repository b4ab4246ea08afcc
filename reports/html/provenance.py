"""The provenance sections: the run's manifest, the service settings per variant, and
the command that reruns it."""

from __future__ import annotations

from typing import Any

from reports.html.markup import esc, num, text
from reports.rundir import Run


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
