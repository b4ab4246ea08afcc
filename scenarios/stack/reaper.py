"""A watchdog that stops what a run started when the run dies without doing it itself.

nox answers Ctrl-C with SIGINT, SIGTERM 0.3 s later and SIGKILL 0.2 s after that, and no
``finally`` survives SIGKILL. So a run (``ticketlab run``, ``nox -s locust``) starts this
small process first, in a session of its own where neither the terminal's Ctrl-C nor
nox's signals reach it, and keeps the write end of a pipe to it. The kernel closes that
pipe however the run ends; the reaper then stops every process whose pid file still names
the run as its owner (whole process groups, SIGTERM then SIGKILL) and exits. A run that
ends cleanly has already stopped or released its processes, so the reaper finds nothing.

    python -m scenarios.stack.reaper LAB_DIR OWNER_PID OWNER_START   (stdin: the pipe)
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

from scenarios.stack import processes
from scenarios.stack.paths import LabPaths

EXIT_TIMEOUT_S = 30.0


@contextlib.contextmanager
def owning(paths: LabPaths, *, keep: Collection[str] = ()) -> Iterator[processes.Owner]:
    """Processes started inside the block die with this process, however it ends.

    On leaving the block those still running are stopped; if this process is killed, the
    reaper and the kernel's parent-death signal stop them. Parts named in ``keep`` are
    started without an owner and outlive it (``run --keep-stack`` keeps its servers).
    """
    owner = processes.Owner.current()
    paths.make()
    log = paths.log_file("reaper").open("ab")
    argv = [sys.executable, "-m", "scenarios.stack.reaper", str(paths.root)]
    reaper = subprocess.Popen(
        [*argv, str(owner.pid), str(owner.start)],
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    processes.set_owner(owner, except_parts=keep)
    try:
        yield owner
    finally:
        processes.set_owner(None)
        processes.stop_owned(paths, owner)
        assert reaper.stdin is not None
        reaper.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            reaper.wait(EXIT_TIMEOUT_S)


@contextlib.contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM stops a run as Ctrl-C does (children stopped, manifest ``interrupted``).

    Only the first: nox sends SIGTERM 0.3 s after Ctrl-C's SIGINT, and a second interrupt
    would cut the cleanup short. SIGKILL, which nothing can catch, is the reaper's case.
    """
    interrupted = False

    def on_sigterm(signum: int, frame: object) -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def watch(paths: LabPaths, owner: processes.Owner) -> list[str]:
    """Block until the owner's pipe closes, then stop what it still owns; the parts stopped."""
    sys.stdin.buffer.read()  # returns at EOF: the owner has exited or closed it on purpose
    return processes.stop_owned(paths, owner)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # a terminal's signals are the run's, not ours
    start = None if args[2] == "None" else int(args[2])
    owner = processes.Owner(int(args[1]), start)
    stopped = watch(LabPaths.at(Path(args[0])), owner)
    if stopped:
        print(f"reaper: owner {owner.pid} died; stopped {', '.join(stopped)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
