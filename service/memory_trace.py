"""A worker's allocations recorded by memray, when ``TICKETLAB_MEMRAY_DIR`` says where.

The supervisor starts workers with ``spawn`` (a fresh interpreter each), which memray's
``--follow-fork`` cannot follow, so each worker starts its own tracker, into its own file
``<dir>/worker-<pid>.bin``. It wraps the worker's event loop from the top of its thread
(after the imports): started inside a coroutine, memray's view of the Python stack comes
apart as the coroutine suspends, and allocations lose their frames. Python's small-object
allocator is traced too: a leak of many small objects (dicts, strings) is otherwise hidden
inside pymalloc's arenas. Every allocation is kept (``memray stats`` needs them all; the
aggregated format would not do), so files grow with the load: profile short runs.
``TICKETLAB_MEMRAY_NATIVE=1`` adds C frames. Off, and memray never imported, unless set:
profiling is the lab's request, not a production default.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

DIR_VARIABLE = "TICKETLAB_MEMRAY_DIR"
NATIVE_VARIABLE = "TICKETLAB_MEMRAY_NATIVE"


@contextlib.contextmanager
def traced_if_asked() -> Iterator[None]:
    directory = os.environ.get(DIR_VARIABLE)
    if not directory:
        yield
        return
    import memray

    path = Path(directory) / f"worker-{os.getpid()}.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    with memray.Tracker(
        # Not compressed at exit: a soak's capture takes longer to compress than the
        # supervisor's stop allows, and a killed compression leaves a .lz4.tmp behind.
        destination=memray.FileDestination(path, compress_on_exit=False),
        native_traces=os.environ.get(NATIVE_VARIABLE) == "1",
        trace_python_allocators=True,
    ):
        yield
