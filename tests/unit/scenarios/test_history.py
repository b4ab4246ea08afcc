"""The history record and its operations.jsonl form."""

from __future__ import annotations

import json

import pytest

from scenarios.history import Fault, History, Operation, Outcome, from_json_line, outcome_for


def hold_op(**changes: object) -> Operation:
    fields: dict[str, object] = {
        "name": "hold",
        "process": "user-1",
        "intended_start": 100.0,
        "start": 100.5,
        "end": 101.0,
        "outcome": Outcome.OK,
        "status": 201,
        "hold_id": 7,
        "seat_ids": (3, 4),
        "request_id": "r-1",
    }
    fields.update(changes)
    return Operation(**fields)  # type: ignore[arg-type]


def test_a_history_round_trips_through_jsonl() -> None:
    history = History.of(
        [
            hold_op(),
            Fault(kind="psp-latency", start=100.0, end=130.0, target="psp", params={"p50_ms": 800}),
            hold_op(outcome=Outcome.UNKNOWN, status=None, error="timeout", hold_id=None),
            Fault(kind="psp-timeout", start=120.0),
        ]
    )

    assert History.from_jsonl(history.to_jsonl()) == history


def test_each_record_is_one_json_object_per_line_with_a_type() -> None:
    text = History.of([hold_op(), Fault(kind="k", start=1.0)]).to_jsonl()

    lines = text.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["op", "fault"]
    assert text.endswith("\n")


def test_unknown_keys_are_ignored_so_later_versions_can_add_fields() -> None:
    line = json.dumps({**hold_op().to_dict(), "shiny_new_field": 1})

    assert from_json_line(line) == hold_op()


def test_an_unknown_record_type_names_its_line() -> None:
    text = json.dumps(hold_op().to_dict()) + "\n" + '{"type": "nope"}\n'

    with pytest.raises(ValueError, match="line 2"):
        History.from_jsonl(text)


def test_blank_lines_are_skipped() -> None:
    text = "\n" + json.dumps(hold_op().to_dict()) + "\n\n"

    assert History.from_jsonl(text).operations == (hold_op(),)


def test_latency_counts_from_the_intended_start() -> None:
    op = hold_op(intended_start=100.0, start=100.5, end=101.0)

    assert op.latency_s == pytest.approx(1.0)
    assert op.service_time_s == pytest.approx(0.5)


def test_latency_falls_back_to_the_actual_start_in_a_closed_model() -> None:
    assert hold_op(intended_start=None).latency_s == pytest.approx(0.5)


def test_operations_and_faults_are_separate_views_of_one_history() -> None:
    fault = Fault(kind="k", start=1.0)
    history = History.of([hold_op(), fault, hold_op(name="pay")])

    assert history.faults == (fault,)
    assert [op.name for op in history.operations] == ["hold", "pay"]
    assert [op.name for op in history.named("pay")] == ["pay"]


def test_a_fault_without_an_end_is_active_until_the_run_stops() -> None:
    fault = Fault(kind="k", start=10.0)

    assert fault.active_at(10.0) and fault.active_at(1e12)
    assert not fault.active_at(9.9)


def test_no_answer_is_unknown_never_fail() -> None:
    assert outcome_for(None) is Outcome.UNKNOWN


def test_a_4xx_or_the_overload_503_is_fail_and_other_5xx_are_unknown() -> None:
    assert outcome_for(201) is Outcome.OK
    assert outcome_for(409) is Outcome.FAIL
    assert outcome_for(503) is Outcome.FAIL
    assert outcome_for(500) is Outcome.UNKNOWN
    assert outcome_for(502) is Outcome.UNKNOWN
