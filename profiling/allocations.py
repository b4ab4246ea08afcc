"""memray's capture files, read back: the allocation sites still alive at the end, and the
memray commands that draw and summarise a capture.

A site is the first frame of an allocation's stack that lies in the project's own code
(not the standard library, not site-packages): "who in our code asked for this memory",
marked ``via <library>`` when library code below that line made the allocation. The
allocating line of a leak is the top site our own code allocated directly: for the
memory-leak defect, the request-journal middleware's entry and header copy. Sizes and
counts are summed per site across every record (and every worker's file) of memory not
freed before the tracker stopped.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FOREIGN = ("site-packages", "dist-packages", "/lib/python", "<frozen")

Frame = tuple[str, str, int]  # function, file, line, as memray gives them


@dataclass(frozen=True)
class Site:
    site: str  # "path/in/project.py:LINE (function)"
    bytes: int
    allocations: int

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "bytes": self.bytes, "allocations": self.allocations}


def _ours(filename: str, root: Path) -> Path | None:
    if any(mark in filename for mark in FOREIGN):
        return None
    try:
        return Path(filename).resolve().relative_to(root)
    except ValueError:
        return None


def _library(filename: str) -> str:
    """``…/site-packages/jwt/algorithms.py`` → ``jwt``; the standard library by module."""
    parts = Path(filename).parts
    for mark in ("site-packages", "dist-packages"):
        if mark in parts:
            return parts[parts.index(mark) + 1]
    return Path(filename).stem


def our_frame(stack: Sequence[Frame], root: Path = PROJECT_ROOT) -> str | None:
    """The innermost frame in the project's own code, as ``file:line (function)``, with
    ``via <library>`` when a library's code below it made the allocation."""
    for depth, (function, filename, line) in enumerate(stack):
        shown = _ours(filename, root)
        if shown is None:
            continue
        site = f"{shown}:{line} ({function})"
        return site if depth == 0 else f"{site} via {_library(stack[0][1])}"
    return None


def top_sites(records: Iterable[tuple[Sequence[Frame], int, int]], limit: int = 10) -> list[Site]:
    """(stack, bytes, allocations) records summed per project site, largest first."""
    sizes: dict[str, list[int]] = {}
    for stack, size, count in records:
        site = our_frame(stack) or "(outside the project)"
        total = sizes.setdefault(site, [0, 0])
        total[0] += size
        total[1] += count
    ranked = sorted(sizes.items(), key=lambda kv: -kv[1][0])
    return [Site(site, b, n) for site, (b, n) in ranked[:limit]]


def allocating_line(sites: Sequence[Site]) -> str | None:
    """The project line that itself allocated the most memory still alive: a dict, list or
    string our code built and kept. Memory a library allocated on our behalf (a parser's
    strings, a crypto library's caches) is listed ``via`` it, but not named here."""
    return next(
        (s.site for s in sites if s.site != "(outside the project)" and " via " not in s.site),
        None,
    )


def leaked_records(capture: Path) -> list[tuple[list[Frame], int, int]]:
    """Every allocation still alive when the tracker stopped, from one capture file."""
    import memray

    reader = memray.FileReader(str(capture))
    try:
        return [
            (list(r.stack_trace()), r.size, r.n_allocations)
            for r in reader.get_leaked_allocation_records(merge_threads=True)
        ]
    finally:
        reader.close()


def executable() -> str | None:
    beside = Path(sys.executable).with_name("memray")
    return str(beside) if beside.exists() else shutil.which("memray")


def report_argvs(binary: str, capture: Path, out_dir: Path) -> dict[str, list[str]]:
    """memray's flame graphs (all allocations at the peak, and what leaked) and stats."""
    stem = capture.stem
    return {
        f"{stem}-flamegraph.html": [
            binary,
            "flamegraph",
            "--force",
            "-o",
            str(out_dir / f"{stem}-flamegraph.html"),
            str(capture),
        ],
        f"{stem}-leaks.html": [
            binary,
            "flamegraph",
            "--leaks",
            "--force",
            "-o",
            str(out_dir / f"{stem}-leaks.html"),
            str(capture),
        ],
        f"{stem}-stats.json": [
            binary,
            "stats",
            "--json",
            "--force",
            "-o",
            str(out_dir / f"{stem}-stats.json"),
            str(capture),
        ],
    }


def stats_headline(stats: dict[str, Any]) -> str:
    """The first lines of ``memray stats``, from its JSON: totals, peak, top allocators."""
    meta = stats.get("metadata", {})
    lines = [
        f"total allocations: {stats.get('total_num_allocations', '?')}",
        f"total memory allocated: {stats.get('total_bytes_allocated', '?')} bytes",
        f"peak memory: {meta.get('peak_memory', '?')} bytes",
        "largest allocating locations:",
    ]
    for entry in (stats.get("top_allocations_by_size") or [])[:5]:
        lines.append(f"  {entry.get('location', '?')}: {entry.get('size', '?')} bytes")
    return "\n".join(lines)
