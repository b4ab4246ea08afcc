"""py-spy, the sampling profiler, on running service workers: commands and what they found.

py-spy reads another process's memory (``process_vm_readv``), which needs root or a
ptrace permission; without it the record exits at once with the reason, which the lab
passes on rather than failing the run. ``--nonblocking`` keeps the workers running while
they are sampled (the profile is slightly less exact, the load undisturbed); native
frames need the worker paused, so ``--native`` drops it.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

RATE_HZ = 50
FORMATS = {"flamegraph": "svg", "speedscope": "json"}


def executable() -> str | None:
    """py-spy beside this interpreter (the lab's venv), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record_argv(
    binary: str, pid: int, out: Path, fmt: str, duration_s: int, native: bool = False
) -> list[str]:
    argv = [
        binary,
        "record",
        "--pid",
        str(pid),
        "--format",
        fmt,
        "--output",
        str(out),
        "--rate",
        str(RATE_HZ),
        "--duration",
        str(max(1, duration_s)),
    ]
    return argv + (["--native"] if native else ["--nonblocking"])


def self_time(speedscope: dict[str, Any]) -> Counter[str]:
    """Seconds per function at the top of the stack (its self time), over every profile
    (thread) in one speedscope file: py-spy weighs each sample by the time it stands for,
    and leaves idle samples out. Frames are named ``function (file:line)``."""
    frames = speedscope.get("shared", {}).get("frames", [])
    names = [f"{f.get('name')} ({f.get('file')}:{f.get('line')})" for f in frames]
    counts: Counter[str] = Counter()
    for profile in speedscope.get("profiles", []):
        samples = profile.get("samples", [])
        weights = profile.get("weights") or [1] * len(samples)
        for stack, weight in zip(samples, weights, strict=False):
            if stack:
                counts[names[stack[-1]]] += weight
    return counts


def top_functions(files: Iterable[Path], limit: int = 15) -> list[dict[str, Any]]:
    """The functions with the most self time across the given speedscope files."""
    total: Counter[str] = Counter()
    for path in files:
        total.update(self_time(json.loads(path.read_text())))
    seconds = sum(total.values())
    return [
        {"function": name, "self_s": round(spent, 3), "self_share": spent / seconds}
        for name, spent in total.most_common(limit)
    ]


def refusal(stderr: str) -> str:
    """py-spy's own reason, in one line (its backtrace left out)."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    reasons: Sequence[str] = [ln for ln in lines if ln.startswith("Error")] or lines[:1]
    return reasons[0] if reasons else "py-spy exited without a profile and said nothing"
