"""The bench's files: ``bench.json`` (every row, with the run's provenance) and ``bench.md``.

The format is described in ``scenarios/bench/__init__.py``; ``format`` changes when a
field's meaning does.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scenarios.bench.rows import Row

FORMAT = 1
COLUMNS = ("measurement", "variant", "value", "baseline", "ratio", "notes")


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return text + (f" {unit}" if unit and unit != "×" else "")


def table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table; the ratio is the value over its baseline."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        baseline = number(row.baseline, row.unit)
        if row.baseline_name and row.baseline is not None:
            baseline += f" ({row.baseline_name})"
        ratio = "–" if row.ratio is None else f"{row.ratio:.2f}×"
        cells = (row.measurement, row.variant, number(row.value, row.unit), baseline, ratio)
        notes = row.notes.replace("|", "/").replace("\n", " ")
        lines.append("| " + " | ".join((*cells, notes)) + " |")
    return "\n".join(lines) + "\n"


def write(out: Path, header: dict[str, Any], rows: Sequence[Row], errors: dict[str, str]) -> str:
    """``bench.json`` and ``bench.md`` in ``out``; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "format": FORMAT,
        **header,
        "rows": [row.to_dict() for row in rows],
        "errors": errors,
    }
    (out / "bench.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    markdown = f"# bench {header.get('started_at', '')} ({header.get('size', '')})\n\n"
    markdown += table(rows)
    if errors:
        markdown += "\nFailed measurements:\n\n"
        markdown += "".join(f"- {name}: {message}\n" for name, message in errors.items())
    (out / "bench.md").write_text(markdown)
    return markdown
