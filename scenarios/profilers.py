"""Profilers on request (``ticketlab run NAME --profile py-spy|memray [--native]``), as
companions of the variant (``scenarios/beside.py``). Both write into ``profiles/`` and
describe what they wrote in ``profiles/profiles.json``:

    {"profiler": "py-spy"|"memray", "files": [{"file", "what"}], "notes": [why something
     is missing], "top": [{"function", "self_s", "self_share"}] (py-spy),
     "headlines": {file: text} (memray stats), "allocating_line": "file:line (function)"
     (memray: the largest site still alive at the end)}

- py-spy records every service worker for the load window from outside (a flame graph
  SVG and a speedscope JSON per worker); where the machine forbids attaching, the run
  says why and goes on.
- memray cannot attach to a running worker here without a debugger, and its
  ``--follow-fork`` does not follow the supervisor's ``spawn``: each worker traces itself
  from its start (``service/memory_trace.py``), and once the apps have stopped the lab
  draws the flame graphs (``memray flamegraph``, and ``--leaks``), runs ``memray stats``,
  and adds the top allocation sites still alive to ``leaks.json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profiling import allocations, pyspy
from scenarios import rundir
from scenarios.beside import Companion
from scenarios.faults.processes import workers as worker_pids
from scenarios.load.shapes import Plan

if TYPE_CHECKING:
    from scenarios.variant import VariantRun

PROFILES = "profiles"
STOP_S = 15.0
MEMRAY_TIMEOUT_S = 900.0  # one report of a three-minute soak: minutes, sharing the cores


def profiler_for(name: str | None, native: bool = False) -> Companion | None:
    if name == "py-spy":
        return PySpyProfile(native)
    if name == "memray":
        return MemrayProfile(native)
    return None


class PySpyProfile(Companion):
    name = "py-spy"

    def __init__(self, native: bool = False) -> None:
        self.native = native
        self.recorders: list[tuple[int, Path, subprocess.Popen[str]]] = []
        self.notes: list[str] = []
        self.top: list[dict[str, Any]] = []

    async def start(self, run: VariantRun) -> None:
        out = run.out / PROFILES
        out.mkdir(parents=True, exist_ok=True)
        binary = pyspy.executable()
        if binary is None:
            self.notes.append("py-spy is not installed (pip install py-spy); no profile")
            return
        shape = run.workload.shape
        duration = int(Plan.of(shape).duration_s) + 2 if shape is not None else 600
        pids = worker_pids(run.apps.service_pid, supervised=run.context.scenario.workers > 1)
        for pid in pids:
            for fmt, ext in pyspy.FORMATS.items():
                path = out / f"py-spy-{pid}.{ext}"
                argv = pyspy.record_argv(binary, pid, path, fmt, duration, self.native)
                self.recorders.append((pid, path, _launch(argv)))

    async def load_ended(self, run: VariantRun) -> None:
        """py-spy writes its file when told to stop (SIGINT) or when its duration ends."""
        for _, _, proc in self.recorders:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)

    def finish(self, run: VariantRun) -> None:
        deadline = time.monotonic() + STOP_S
        for _, _, proc in self.recorders:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        files = []
        speedscopes = []
        for pid, path, proc in self.recorders:
            stderr = proc.stderr.read() if proc.stderr else ""
            if proc.stderr:
                proc.stderr.close()
            if path.exists() and path.stat().st_size > 0:
                kind = "flame graph" if path.suffix == ".svg" else "speedscope profile"
                files.append({"file": path.name, "what": f"worker {pid}: {kind}"})
                if path.suffix == ".json":
                    speedscopes.append(path)
            else:
                self.notes.append(
                    f"py-spy could not profile worker {pid} ({path.suffix}): "
                    f"{pyspy.refusal(stderr)}"
                )
        try:
            self.top = pyspy.top_functions(speedscopes)
        except (OSError, ValueError) as exc:
            self.notes.append(f"the speedscope profiles could not be read: {exc}")
        write_profiles(run.out, "py-spy", files, self.notes, top=self.top)

    def summary(self, run: VariantRun) -> Mapping[str, Any]:
        return {"profile": {"profiler": "py-spy", "top": self.top[:3], "notes": self.notes}}


class MemrayProfile(Companion):
    name = "memray"

    def __init__(self, native: bool = False) -> None:
        self.native = native
        self.notes: list[str] = []
        self.allocating_line: str | None = None

    def service_env(self, run: VariantRun) -> Mapping[str, str]:
        directory = run.out / PROFILES / "memray"
        directory.mkdir(parents=True, exist_ok=True)
        env = {"TICKETLAB_MEMRAY_DIR": str(directory)}
        return env | ({"TICKETLAB_MEMRAY_NATIVE": "1"} if self.native else {})

    def after_stop(self, run: VariantRun) -> None:
        """Each of memray's reports reads a whole capture (hundreds of MB after a soak, a
        minute or more each), so they run side by side, one per core, while this process
        reads the live allocations itself."""
        out = run.out / PROFILES
        captures = sorted((out / "memray").glob("worker-*.bin"))
        binary = allocations.executable()
        if not captures:
            self.notes.append("no memray capture was written (is memray installed?)")
        else:
            run.progress.enter(
                "memray",
                note=f"{len(captures)} capture(s), reports side by side",
            )
        if captures and binary is None:
            self.notes.append("memray's command line was not found: no flame graphs or stats")
        records = []
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            running = {
                capture: [
                    (name, argv, pool.submit(_run, argv))
                    for name, argv in allocations.report_argvs(binary, capture, out).items()
                ]
                if binary is not None
                else []
                for capture in captures
            }
            for capture in captures:
                run.progress.log(f"{run.progress.variant}: memray reading {capture.name}")
                try:
                    records += allocations.leaked_records(capture)
                except Exception as exc:  # a truncated capture (a killed worker): say so
                    self.notes.append(f"{capture.name}: unreadable ({type(exc).__name__}: {exc})")
            files: list[dict[str, str]] = []
            headlines: dict[str, str] = {}
            for capture in captures:
                files.append({"file": f"memray/{capture.name}", "what": "memray capture"})
                for name, argv, future in running[capture]:
                    failure = _failure(future.result(), out / name)
                    if failure:
                        self.notes.append(f"memray {argv[1]} for {capture.name} failed: {failure}")
                    else:
                        files.append({"file": name, "what": _what(name)})
                stats = out / f"{capture.stem}-stats.json"
                if stats.exists():
                    headlines[f"memray stats {capture.name}"] = allocations.stats_headline(
                        json.loads(stats.read_text())
                    )
        sites = allocations.top_sites(records, limit=15)
        self.allocating_line = allocations.allocating_line(sites)
        leaks_path = run.out / "leaks.json"
        leaks = json.loads(leaks_path.read_text()) if leaks_path.exists() else {}
        leaks["allocations"] = [s.to_dict() for s in sites]
        leaks["allocating_line"] = self.allocating_line
        rundir.write_json(leaks_path, leaks)
        write_profiles(
            run.out,
            "memray",
            files,
            self.notes,
            headlines=headlines,
            allocating_line=self.allocating_line,
        )

    def summary(self, run: VariantRun) -> Mapping[str, Any]:
        return {
            "profile": {
                "profiler": "memray",
                "allocating_line": self.allocating_line,
                "notes": self.notes,
            }
        }


def _run(argv: list[str]) -> subprocess.CompletedProcess[str] | str:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=MEMRAY_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        return f"no answer in {MEMRAY_TIMEOUT_S:.0f} s"


def _failure(done: subprocess.CompletedProcess[str] | str, made: Path) -> str | None:
    """Why a report is missing, or None when it was written."""
    if isinstance(done, str):
        return done
    if done.returncode == 0 and made.exists():
        return None
    tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
    return tail[0]


def _launch(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _what(name: str) -> str:
    if name.endswith("-leaks.html"):
        return "flame graph of the memory still allocated at the end (memray --leaks)"
    if name.endswith("-flamegraph.html"):
        return "flame graph of the allocations at the peak (memray flamegraph)"
    return "memray stats (JSON)"


def write_profiles(
    out: Path, profiler: str, files: list[dict[str, str]], notes: list[str], **extra: Any
) -> None:
    rundir.write_json(
        out / PROFILES / "profiles.json",
        {"profiler": profiler, "files": files, "notes": notes, **extra},
    )
