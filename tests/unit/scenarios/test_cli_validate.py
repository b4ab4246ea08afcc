"""``ticketlab validate FILE``: every problem named on stderr with exit 2, nothing started;
a file that does not import is a message naming its line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.cli import main

HEADER = "from scenarios.checks.slo import Slo\nfrom scenarios.spec import Fault, Scenario\n"
BROKEN = """SCENARIO = Scenario(
    name="broken",
    description="every mistake a newcomer made",
    settings={"sweeper_interval_s": -1},
    workload={"shape": {"kind": "constant", "users": 5, "spawn_rate": 5, "duration_s": 40}},
    nemesis=(Fault(at_s=500, kind="psp-faults", params={"confirm_latncy": {"kind": "none"}}),),
    slos=(Slo(operation="refund", max_error_rate=5),),
)
"""


def validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "scenario.py"
    path.write_text(text)
    code = main(["validate", str(path)])
    return code, capsys.readouterr().err


def test_validate_names_each_problem_once_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = validate(tmp_path, HEADER + BROKEN, capsys)
    assert code == 2
    for named in (
        "settings.sweeper_interval_s must be positive",
        "params.confirm_latncy: unknown fault",
        "at_s=500 is after the load ends (the shape lasts 40 s)",
        '"pay" is true, and it is not',
        "slos (slo:refund): max_error_rate is a share between 0 and 1, got 5",
        "no operation 'refund'",
        "duration_s is required: psp-faults must be switched off again",
    ):
        assert err.count(named) == 1, (named, err)
    assert "7 problem(s)" in err


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("SCENARIO = Scenario(\n", "scenario.py, line 1: '(' was never closed"),
        (HEADER + "import no_such_module\n", "line 3: ModuleNotFoundError"),
        (HEADER + "SCENARIO = Scenario(name='x', sweep=1)\n", "line 3: TypeError"),
        (HEADER + "SCENARIO = 42\n", "defines no SCENARIO = Scenario(...)"),
    ],
)
def test_a_file_that_does_not_import_is_a_message_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, named: str
) -> None:
    code, err = validate(tmp_path, text, capsys)
    assert code == 2
    assert named in err and "Traceback" not in err


def test_every_catalog_scenario_validates(capsys: pytest.CaptureFixture[str]) -> None:
    from scenarios.catalog import catalog_names

    for name in catalog_names():
        assert main(["validate", name]) == 0, capsys.readouterr().err
