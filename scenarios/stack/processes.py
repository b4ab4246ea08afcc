"""Child processes the lab starts: spawned detached, recorded in pid files, stopped with a bound.

A pid file holds the pid *and* the process's start time (from /proc), so a pid the kernel
has since given to an unrelated process is recognised as stale and never signalled.
Servers run in their own session so Ctrl-C in the terminal that ran ``ticketlab up`` does
not reach them; ``down`` (or the runner) stops them on purpose. A new session is also a
new process group, and ``stop`` signals that whole group, so a server's own children (the
service's workers) never outlive it.

A process started while an *owner* is set (``set_owner``: a run, or ``nox -s locust``)
is meant to die with that owner, however it dies. Its pid file names the owner, it gets
SIGTERM from the kernel when the owner goes (``PR_SET_PDEATHSIG``), and the owner's
reaper (``scenarios.stack.reaper``) stops its whole group and drops the pid file; the next
``up`` or ``down`` does the same should the reaper be gone too. Servers of a plain
``ticketlab up`` have no owner: they run until ``ticketlab down``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scenarios.stack.paths import LabPaths

TERM_TIMEOUT_S = 20.0
KILL_TIMEOUT_S = 5.0

# Popen objects of children still running, kept so they are reaped (no zombies) and so
# Python never warns about a running child being garbage collected.
_children: dict[int, subprocess.Popen[bytes]] = {}
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: preexec_fn must not dlopen


@dataclass(frozen=True)
class Owner:
    """The process whose death ends a child's life: pid and start time, as in pid files."""

    pid: int
    start: int | None

    @classmethod
    def current(cls) -> Owner:
        return cls(os.getpid(), start_time(os.getpid()))

    def is_running(self) -> bool:
        return is_alive(self.pid) and (self.start is None or start_time(self.pid) == self.start)


_owner: Owner | None = None
_unowned_parts: frozenset[str] = frozenset()


def set_owner(owner: Owner | None, *, except_parts: Collection[str] = ()) -> None:
    """From now on, processes this process starts die with ``owner`` (None: outlive it),
    except those of ``except_parts`` (servers a ``run --keep-stack`` leaves running)."""
    global _owner, _unowned_parts
    _owner, _unowned_parts = owner, frozenset(except_parts)


def owner_of(part: str) -> Owner | None:
    return None if part in _unowned_parts else _owner


@dataclass(frozen=True)
class PidRecord:
    part: str
    pid: int
    start: int | None
    argv: tuple[str, ...] = ()
    owner: Owner | None = None

    def is_running(self) -> bool:
        """Alive and still the process we started (same start time), not a recycled pid."""
        return is_alive(self.pid) and (self.start is None or start_time(self.pid) == self.start)

    @property
    def orphaned(self) -> bool:
        """Its owner is gone (killed before it could stop what it started)."""
        return self.owner is not None and not self.owner.is_running()


def start_time(pid: int) -> int | None:
    """Clock ticks since boot at which ``pid`` started (field 22 of /proc/PID/stat)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses; fields follow the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[19])


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie counts as dead, and a child of ours gets reaped here."""
    child = _children.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        _children.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def spawn(
    paths: LabPaths,
    part: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> PidRecord:
    """Start ``argv`` detached, output to the part's log, and record it in its pid file."""
    paths.make()
    log = paths.log_file(part)
    owner = owner_of(part)
    with log.open("ab") as out:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            preexec_fn=die_with_parent() if owner is not None else None,
        )
    _children[child.pid] = child
    record = PidRecord(part, child.pid, start_time(child.pid), tuple(argv), owner)
    write_pid_file(paths, record)
    return record


def die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking the kernel to send ``signum`` when the parent dies.

    The kernel watches the forking *thread*, so only the main thread (which lives as long
    as the process) may use it; elsewhere the reaper alone is relied on. The parent may
    die between fork and prctl: the child then finds itself reparented and stops at once.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()

    def arm() -> None:
        _libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signum)

    return arm


def adopt(paths: LabPaths, part: str, pid: int, argv: Sequence[str] = ()) -> PidRecord:
    """Record a process the lab caused but did not fork itself (a daemon that detached)."""
    record = PidRecord(part, pid, start_time(pid), tuple(argv), owner_of(part))
    write_pid_file(paths, record)
    return record


def write_pid_file(paths: LabPaths, record: PidRecord) -> None:
    """Written whole then renamed, so a reader (a reaper, ``down``) never sees half a file."""
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    body: dict[str, object] = {"pid": record.pid, "start": record.start, "argv": list(record.argv)}
    if record.owner is not None:
        body["owner"] = {"pid": record.owner.pid, "start": record.owner.start}
    path = paths.pid_file(record.part)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(body) + "\n")
    os.replace(tmp, path)


def read_pid_file(path: Path) -> PidRecord | None:
    """The record in ``path``; a bare pid (older or hand-written files) is accepted too."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    part = path.name.removesuffix(".pid")
    try:
        if text.isdigit():
            return PidRecord(part, int(text), None)
        body = json.loads(text)
        owned = body.get("owner")
        owner = Owner(int(owned["pid"]), owned.get("start")) if owned else None
        argv = tuple(body.get("argv", ()))
        return PidRecord(part, int(body["pid"]), body.get("start"), argv, owner)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def pid_files(paths: LabPaths) -> list[tuple[Path, PidRecord | None]]:
    """Every pid file in the lab with its record; None marks an unreadable one, to be removed."""
    if not paths.run_dir.is_dir():
        return []
    return [(path, read_pid_file(path)) for path in sorted(paths.run_dir.glob("*.pid"))]


def owned_by(paths: LabPaths, owner: Owner) -> list[PidRecord]:
    return [r for _, r in pid_files(paths) if r is not None and r.owner == owner]


def stop_owned(paths: LabPaths, owner: Owner) -> list[str]:
    """Stop every process ``owner`` started that is still recorded; the parts stopped."""
    return [r.part for r in owned_by(paths, owner) if stop_part(paths, r.part)]


def reap_orphans(paths: LabPaths) -> list[str]:
    """Stop what a killed owner left behind (its reaper killed too); the parts stopped."""
    orphans = [r for _, r in pid_files(paths) if r is not None and r.orphaned]
    return [r.part for r in orphans if stop_part(paths, r.part)]


def running(paths: LabPaths, part: str) -> PidRecord | None:
    record = read_pid_file(paths.pid_file(part))
    return record if record is not None and record.is_running() else None


def stop(record: PidRecord, *, term_timeout: float = TERM_TIMEOUT_S) -> bool:
    """SIGTERM, wait up to ``term_timeout``, then SIGKILL. True if it had to be killed.

    A process that leads its own process group (everything ``spawn`` starts, and daemons
    that called setsid) is stopped with its whole group: ``python -m service --workers N``
    is a supervisor whose workers are its children, and signalling only the supervisor's pid
    would leave them running if it were killed or stopped badly. The group is done when no
    member is left, not just when the leader is gone. A process in someone else's group (an
    adopted pid) is signalled alone, so the lab never signals a group it did not start.
    """
    if not record.is_running():  # gone, or its pid now belongs to someone else
        return False
    group = _own_group(record.pid)
    _signal(record.pid, group, signal.SIGTERM)
    if _wait_stopped(record.pid, group, term_timeout):
        return False
    _signal(record.pid, group, signal.SIGKILL)
    _wait_stopped(record.pid, group, KILL_TIMEOUT_S)
    return True


def _own_group(pid: int) -> int | None:
    """``pid`` itself when it leads its process group, else None."""
    try:
        return pid if os.getpgid(pid) == pid else None
    except ProcessLookupError:
        return None


def _signal(pid: int, group: int | None, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        if group is None:
            os.kill(pid, signum)
        else:
            # Safe even once the leader is gone: the kernel never reuses an id as a pid or
            # group id while any member of that group is alive.
            os.killpg(group, signum)


def _wait_stopped(pid: int, group: int | None, timeout: float) -> bool:
    """Whether ``pid``, and then every member of ``group``, is gone within one ``timeout``."""
    deadline = time.monotonic() + timeout
    if not wait_gone(pid, timeout):
        return False
    while group is not None and group_members(group):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def group_members(pgid: int) -> list[int]:
    """Live processes (zombies excluded) whose process group is ``pgid``, from /proc."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # Fields after the command name: state (3), ppid (4), pgrp (5).
        state, _ppid, pgrp = raw[raw.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def thread_count(pid: int) -> int | None:
    """Threads of ``pid`` and, when it leads a process group (a supervisor and its workers),
    of every member; None when it is gone."""
    pids = group_members(pid) if _own_group(pid) == pid else [pid]
    total = 0
    for member in pids or [pid]:
        try:
            status = Path(f"/proc/{member}/status").read_text()
        except OSError:
            continue
        total += next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:")),
            0,
        )
    return total or None


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def stop_part(paths: LabPaths, part: str, *, term_timeout: float = TERM_TIMEOUT_S) -> bool:
    """Stop the part's recorded process if it is still ours, and drop its pid file."""
    record = read_pid_file(paths.pid_file(part))
    was_running = record is not None and record.is_running()
    if record is not None:
        stop(record, term_timeout=term_timeout)
    paths.pid_file(part).unlink(missing_ok=True)
    return was_running


def log_tail(path: Path, lines: int = 15) -> str:
    """The log's last lines, preceded by any earlier error lines (the cause is rarely last)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    all_lines = text.splitlines()
    tail = all_lines[-lines:]
    errors = [
        line
        for line in all_lines[:-lines]
        if "ERROR" in line or "[error]" in line.lower() or "failed" in line.lower()
    ][-5:]
    shown = [*errors, *(["..."] if errors else []), *tail]
    return "\n".join("    " + line for line in shown) or "(log is empty)"
