"""Self time per function from a speedscope profile, as py-spy writes it."""

import json
from pathlib import Path

from profiling.pyspy import record_argv, refusal, top_functions

PROFILE = {
    "shared": {
        "frames": [
            {"name": "<module>", "file": "app.py", "line": 1},
            {"name": "handle", "file": "views.py", "line": 10},
            {"name": "query", "file": "db.py", "line": 42},
        ]
    },
    "profiles": [
        {"type": "sampled", "samples": [[0, 1, 2], [0, 1, 2], [0, 1]], "weights": [0.02] * 3},
        {"type": "sampled", "samples": [[0, 1, 2], []], "weights": [0.02, 0.02]},
    ],
}


def test_self_time_counts_the_top_frame_of_each_sample_across_threads(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PROFILE))
    top = top_functions([path, path])
    assert [t["function"] for t in top] == ["query (db.py:42)", "handle (views.py:10)"]
    assert top[0]["self_s"] == 0.12 and top[1]["self_s"] == 0.04
    assert top[0]["self_share"] == 0.75


def test_record_is_nonblocking_unless_native_frames_are_asked_for() -> None:
    argv = record_argv("py-spy", 7, Path("out.svg"), "flamegraph", 30)
    assert argv[-1] == "--nonblocking" and argv[2:4] == ["--pid", "7"]
    assert record_argv("py-spy", 7, Path("o"), "raw", 0, native=True)[-3:] == [
        "--duration",
        "1",
        "--native",
    ]


def test_a_refusal_is_py_spys_own_error_line() -> None:
    stderr = "Error: Permission Denied\n\nStack backtrace:\n  0: anyhow\n"
    assert refusal(stderr) == "Error: Permission Denied"
    assert "said nothing" in refusal("")
