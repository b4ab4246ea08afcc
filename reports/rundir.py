"""Read a run directory into pandas, without importing the code that wrote it.

``reports/`` depends only on the files (DESIGN.md, layout): the format is defined in the
docstrings of ``scenarios/rundir.py`` and ``scenarios/history.py`` (format version 2), and
this module re-states just the parts it reads. Keeping the reader independent means a report
can be rebuilt from an archived run directory with nothing of the lab installed.

Only ``manifest.json`` is required: without it there is no run to describe, so a missing or
malformed manifest raises :class:`RunDirError` naming the file. Every other file is optional,
because a report of an interrupted or partial run is still worth having — a missing file
reads as an empty frame, and an unreadable one as an empty frame plus a note that the page
shows, so nothing is dropped silently.

Files are read lazily (``cached_property``): the report does not pay for ``metrics.jsonl``
unless something asks for it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

SUPPORTED_FORMAT_VERSION = 2
MANIFEST = "manifest.json"
OUTCOMES = ("ok", "fail", "unknown", "cut-off")
OP_COLUMNS = (
    "name",
    "process",
    "intended_start",
    "start",
    "end",
    "outcome",
    "status",
    "problem_type",
    "error",
    "request_id",
)
FAULT_COLUMNS = ("kind", "start", "end", "target", "params", "note")
STATS_COLUMNS = (
    "second",
    "operation",
    "count",
    "ok",
    "refused",
    "errors",
    "unknown",
    "cut_off",
    "p50_ms",
    "p95_ms",
    "p99_ms",
)
RESOURCE_COLUMNS = ("t", "role", "pid", "cpu_percent", "rss_bytes", "fds", "threads")
# Heartbeat lag and Seconds_Behind_Master side by side; ``seconds_behind_primary`` is
# the single column older runs wrote.
LAG_COLUMNS = ("t", "heartbeat_lag_s", "seconds_behind_master")
LAG_SERIES = ("heartbeat_lag_s", "seconds_behind_master", "seconds_behind_primary")
MACHINE_COLUMNS = ("t", "cpu_percent", "steal_percent", "iowait_percent", "load_1m", "cores")
# The same rule as scenarios/rundir.py's safe_name: a variant's directory name.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class RunDirError(Exception):
    """A run directory that cannot be reported on; the message names the path at fault."""


def dir_name(variant: str) -> str:
    """The directory a variant's files live in (the writer's ``safe_name``)."""
    return _UNSAFE.sub("-", variant).strip("-.") or variant


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


@dataclass
class Variant:
    """One variant's files, each parsed on first use."""

    name: str
    path: Path
    notes: list[str] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return self.path.is_dir()

    def _note(self, filename: str, reason: str) -> None:
        self.notes.append(f"{self.name}: {filename}: {reason}")

    # -- operations.jsonl ------------------------------------------------------------------

    @cached_property
    def _history(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        path = self.path / "operations.jsonl"
        if not path.exists():
            return _ops_frame([]), _faults_frame([])
        try:
            records = _read_jsonl(path)
            return _split_history(records)
        except (RunDirError, ValueError, TypeError, KeyError) as exc:
            self._note("operations.jsonl", str(exc))
            return _ops_frame([]), _faults_frame([])

    @property
    def ops(self) -> pd.DataFrame:
        """Client operations, with ``scheduled`` (intended start, else start) and
        ``latency_ms`` (end − scheduled: coordinated-omission-safe, as the SLO checks use)."""
        return self._history[0]

    @property
    def faults(self) -> pd.DataFrame:
        """Nemesis records: kind, start, end (NaN while still on at the end), target, …"""
        return self._history[1]

    # -- the small JSON files --------------------------------------------------------------

    def _json(self, filename: str) -> dict[str, Any]:
        path = self.path / filename
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as exc:
            self._note(filename, f"unreadable ({exc})")
            return {}
        if not isinstance(data, dict):
            self._note(filename, "not a JSON object")
            return {}
        return data

    @cached_property
    def settings(self) -> dict[str, Any]:
        return self._json("settings.json")

    @cached_property
    def summary(self) -> dict[str, Any]:
        return self._json("summary.json")

    @cached_property
    def checks(self) -> dict[str, Any]:
        """``{"verdict": …, "results": [CheckResult as JSON…]}``, or ``{}`` when absent."""
        data = self._json("checks.json")
        results = data.get("results")
        if results is not None and not (
            isinstance(results, list) and all(isinstance(r, dict) for r in results)
        ):
            self._note("checks.json", "'results' is not a list of objects")
            data = {k: v for k, v in data.items() if k != "results"}
        return data

    # -- the CSV and JSONL time series -----------------------------------------------------

    def _csv(self, filename: str, columns: tuple[str, ...], required: tuple[str, ...]):
        path = self.path / filename
        if not path.exists():
            return _empty(columns)
        try:
            frame = pd.read_csv(path)
        except pd.errors.EmptyDataError:
            return _empty(columns)
        except (ValueError, OSError) as exc:
            self._note(filename, f"unreadable ({exc})")
            return _empty(columns)
        missing = [c for c in required if c not in frame.columns]
        if missing:
            self._note(filename, f"missing column(s) {', '.join(missing)}")
            return _empty(columns)
        return frame

    @cached_property
    def stats(self) -> pd.DataFrame:
        return self._csv("stats.csv", STATS_COLUMNS, ("second", "operation", "count"))

    @cached_property
    def resources(self) -> pd.DataFrame:
        frame = self._csv("resources.csv", RESOURCE_COLUMNS, ("t", "role", "cpu_percent"))
        return _numeric(frame, ("t", "cpu_percent", "rss_bytes", "fds", "threads"))

    @cached_property
    def workers(self) -> pd.DataFrame:
        """The detailed per-process samples (``workers.csv``), numbers as floats."""
        frame = self._csv("workers.csv", ("t", "role", "pid", "kind"), ("t", "pid"))
        numeric = [c for c in frame.columns if c not in ("role", "kind")]
        return _numeric(frame, tuple(numeric))

    @cached_property
    def leaks(self) -> dict[str, Any]:
        """``leaks.json``: the leak verdicts (and memray's allocation sites, when it ran)."""
        return self._json("leaks.json")

    @cached_property
    def knee(self) -> dict[str, Any]:
        """``knee.json``: a step load's steps and the knee found in them."""
        return self._json("knee.json")

    @cached_property
    def profiles(self) -> dict[str, Any]:
        """``profiles/profiles.json``: what each profiler wrote, and its headline."""
        return self._json("profiles/profiles.json")

    @cached_property
    def machine(self) -> pd.DataFrame:
        """The whole machine each sample: ``cpu_percent`` of all cores (100 = every core)."""
        frame = self._csv("machine.csv", MACHINE_COLUMNS, ("t", "cpu_percent", "cores"))
        return _numeric(frame, MACHINE_COLUMNS)

    @cached_property
    def lag(self) -> pd.DataFrame:
        frame = self._csv("lag.csv", LAG_COLUMNS, ("t",))
        return _numeric(frame, ("t", *LAG_SERIES))

    @cached_property
    def metrics(self) -> pd.DataFrame:
        """Scraped /metrics, wide: one row per scrape (``t``, ``target``), one column per
        sample name with its labels (``name{label="v"}``)."""
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return _empty(("t", "target"))
        try:
            records = _read_jsonl(path)
        except RunDirError as exc:
            self._note("metrics.jsonl", str(exc))
            return _empty(("t", "target"))
        rows = [
            {"t": r.get("t"), "target": r.get("target"), **(r.get("samples") or {})}
            for r in records
        ]
        return pd.DataFrame(rows) if rows else _empty(("t", "target"))


def _numeric(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    frame = frame.copy()
    for column in columns:
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All records of a JSON-lines file, parsed in one call for speed.

    A run that was killed mid-write can leave a final line without its newline; that line
    alone is dropped. Any other bad line is an error naming the file and line number.
    """
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    truncated_tail = not text.endswith("\n") and bool(lines[-1].strip())
    numbered = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    body = ",".join(line for _, line in numbered)
    try:
        records = json.loads(f"[{body}]")
    except ValueError:
        records = []
        for number, line in numbered:
            try:
                records.append(json.loads(line))
            except ValueError as exc:
                if truncated_tail and number == len(lines):
                    break
                raise RunDirError(f"{path}: line {number}: {exc}") from exc
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise RunDirError(f"{path}: line {numbered[bad][0]}: not a JSON object")
    return records


def _split_history(records: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    ops = [r for r in records if r.get("type") == "op"]
    faults = [r for r in records if r.get("type") == "fault"]
    if len(ops) + len(faults) != len(records):
        kind = next(r.get("type") for r in records if r.get("type") not in ("op", "fault"))
        raise ValueError(f"unknown record type {kind!r} (expected 'op' or 'fault')")
    return _ops_frame(ops), _faults_frame(faults)


def _ops_frame(ops: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(ops, columns=list(OP_COLUMNS))
    for column in ("name", "start", "end", "outcome"):
        if frame[column].isna().any():
            raise ValueError(f"an operation lacks {column!r}")
    bad = ~frame["outcome"].isin(OUTCOMES)
    if bad.any():
        raise ValueError(f"unknown outcome {frame['outcome'][bad].iloc[0]!r}")
    for column in ("intended_start", "start", "end", "status"):
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
    frame["name"] = frame["name"].astype(str)
    frame["scheduled"] = frame["intended_start"].fillna(frame["start"])
    frame["latency_ms"] = (frame["end"] - frame["scheduled"]) * 1000.0
    return frame


def _faults_frame(faults: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(faults, columns=list(FAULT_COLUMNS))
    if frame["kind"].isna().any() or frame["start"].isna().any():
        raise ValueError("a fault lacks 'kind' or 'start'")
    for column in ("start", "end"):
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
    return frame


@dataclass
class Run:
    """A run directory: its manifest and its variants, in run order."""

    path: Path
    manifest: dict[str, Any]
    variants: list[Variant]
    notes: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id") or self.path.name)

    def all_notes(self) -> list[str]:
        return [*self.notes, *(n for v in self.variants for n in v.notes)]


def load_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest, or a :class:`RunDirError` that says which file is wrong and how."""
    path = run_dir / MANIFEST
    if not path.is_file():
        raise RunDirError(f"{path}: missing — is {run_dir} a run directory?")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise RunDirError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def load_run(run_dir: Path | str) -> Run:
    """Open a run directory: the manifest now, each variant's files when first read.

    Variants are those the manifest lists, in its order, then any other directory under
    ``variants/`` (a run interrupted before its manifest was final still shows them).
    """
    path = Path(run_dir)
    if not path.is_dir():
        raise RunDirError(f"{path}: not a directory")
    manifest = load_manifest(path)
    notes: list[str] = []
    version = manifest.get("format_version")
    if version is None:
        notes.append(f"{MANIFEST}: no format_version; read as version {SUPPORTED_FORMAT_VERSION}")
    elif version != SUPPORTED_FORMAT_VERSION:
        notes.append(
            f"{MANIFEST}: format_version {version!r}; this reader knows "
            f"{SUPPORTED_FORMAT_VERSION}, so some data may be missing"
        )
    listed = manifest.get("variants")
    names = [str(v) for v in listed] if isinstance(listed, list) else []
    variants_dir = path / "variants"
    on_disk = (
        sorted(p.name for p in variants_dir.iterdir() if p.is_dir())
        if variants_dir.is_dir()
        else []
    )
    known_dirs = {dir_name(n) for n in names}
    names += [d for d in on_disk if d not in known_dirs]
    variants = [Variant(n, variants_dir / dir_name(n)) for n in names]
    for variant in variants:
        if not variant.present:
            notes.append(f"{variant.name}: no directory {variant.path}")
    return Run(path=path, manifest=manifest, variants=variants, notes=notes)
