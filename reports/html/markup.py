"""The page shell and the pieces every section is built of: escaping, formatted cells,
tables, inline images and the self-contained page with its styles.

Every piece of text from the run directory goes through :func:`esc` — error bodies,
counterexamples and names come from a system under test and may hold markup.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import Any

import pandas as pd

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


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def num(value: Any, digits: int = 1) -> str:
    if missing(value):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    number = float(value)
    if number.is_integer() and digits == 0:
        return f"{int(number):,}"
    return f"{number:,.{digits}f}"


def count(value: Any) -> str:
    return "—" if missing(value) else f"{int(value):,}"


def percent(value: Any) -> str:
    return "—" if missing(value) else f"{float(value) * 100:.2f}%"


def text(value: Any) -> str:
    if missing(value):
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
