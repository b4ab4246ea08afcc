"""Buffered recording per process, and merging the parts into one operations file."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.history import Fault, History, Operation, Outcome, to_json_line
from scenarios.load.merge import merge_files, merge_parts, part_files
from scenarios.load.recorder import Recorder, part_path, process_path


def op(start: float, process: str = "p", intended: float | None = None) -> Operation:
    return Operation("hold", process, start, start + 0.1, Outcome.OK, intended_start=intended)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_records_are_held_until_the_buffer_fills(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "ops.jsonl", max_buffer=3, clock=FakeClock())
    recorder.add(op(1))
    recorder.add(op(2))
    assert recorder.path.read_text() == "" and recorder.pending == 2
    recorder.add(op(3))
    assert len(History.from_jsonl(recorder.path.read_text()).operations) == 3
    assert recorder.pending == 0 and recorder.written == 3


def test_records_are_flushed_once_the_interval_has_passed(tmp_path: Path) -> None:
    clock = FakeClock()
    recorder = Recorder(tmp_path / "ops.jsonl", flush_interval_s=1.0, clock=clock)
    recorder.add(op(1))
    assert recorder.pending == 1
    clock.now = 1.0
    recorder.add(op(2))
    assert recorder.pending == 0
    assert [o.start for o in History.from_jsonl(recorder.path.read_text()).operations] == [1, 2]


def test_an_explicit_flush_appends_and_never_rewrites(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "ops.jsonl"
    recorder = Recorder(path, clock=FakeClock())
    assert path.exists()
    recorder.add(op(1))
    assert recorder.flush() == 1
    assert recorder.flush() == 0
    recorder.add(op(2))
    recorder.flush()
    assert len(path.read_text().splitlines()) == 2


def test_each_process_of_a_multiprocess_run_has_its_own_part() -> None:
    ops = Path("/r/variants/a/operations.jsonl")
    assert process_path(ops, multiprocess=False, tag="pid7") == ops
    assert process_path(ops, multiprocess=True, tag="pid7") == ops.with_name(
        "operations.part-pid7.jsonl"
    )


def test_merging_parts_sorts_by_start_keeps_what_is_there_and_removes_parts(
    tmp_path: Path,
) -> None:
    ops = tmp_path / "operations.jsonl"
    fault = Fault("psp-latency", start=0.5, end=None, target="psp")
    ops.write_text(to_json_line(fault) + "\n")
    for tag, starts in (("pid2", [3.0, 1.0]), ("pid1", [2.0])):
        part_path(ops, tag).write_text(
            "".join(to_json_line(op(s, tag)) + "\n" for s in starts) + "\n"
        )
    assert [p.name for p in part_files(ops)] == [
        "operations.part-pid1.jsonl",
        "operations.part-pid2.jsonl",
    ]
    assert merge_parts(ops) == 3
    history = History.from_jsonl(ops.read_text())
    assert history.faults == (fault,)
    assert [(o.start, o.process) for o in history.operations] == [
        (1.0, "pid2"),
        (2.0, "pid1"),
        (3.0, "pid2"),
    ]
    assert part_files(ops) == []


def test_merging_orders_open_model_records_by_intended_start(tmp_path: Path) -> None:
    part = tmp_path / "a.jsonl"
    part.write_text(to_json_line(op(5.0, intended=1.0)) + "\n" + to_json_line(op(2.0)) + "\n")
    out = tmp_path / "out.jsonl"
    merge_files([part], out)
    assert [o.start for o in History.from_jsonl(out.read_text()).operations] == [5.0, 2.0]


def test_a_torn_line_is_an_error_naming_the_part(tmp_path: Path) -> None:
    ops = tmp_path / "operations.jsonl"
    part = part_path(ops, "pid9")
    part.write_text(to_json_line(op(1.0)) + "\n" + '{"type": "op", "na')
    with pytest.raises(ValueError, match=r"operations\.part-pid9\.jsonl: operations.jsonl line 2"):
        merge_parts(ops)
    assert part.exists()
