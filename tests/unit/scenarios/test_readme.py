"""The README documents every setting and workload field, its worked example is a scenario
that does what it says, and its code blocks follow the convention the README test runs by
(``tests/support/readme.py``)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from scenarios.load import shapes
from scenarios.load.seats import SeatSelection
from scenarios.load.workload import Abandon, Workload
from service.config import Settings
from tests.support.paths import README
from tests.support.readme import LANGUAGES, blocks, python_example


def test_every_setting_is_in_the_readme_settings_table() -> None:
    text = README.read_text()
    missing = [name for name, _ in Settings.documented() if f"`{name}`" not in text]
    assert missing == []


def test_every_field_the_workload_accepts_is_in_the_readme() -> None:
    text = README.read_text()
    sections = (Workload, SeatSelection, Abandon, *shapes.SHAPE_KINDS.values())
    fields = {f.name for kind in sections for f in dataclasses.fields(kind)}
    fields |= {"mode", "kind", *shapes.SHAPE_KINDS, "uniform", "hotspot", "fixed"}
    assert sorted(f for f in fields if f"`{f}`" not in text) == []


def load_example(tmp_path: Path):  # type: ignore[no-untyped-def]
    from scenarios.catalog import load_scenario

    example = tmp_path / "hot_seats.py"
    example.write_text(python_example())
    return load_scenario(str(example))


def test_the_worked_example_validates(tmp_path: Path) -> None:
    assert load_example(tmp_path).problems() == []


def test_the_worked_examples_fault_acts_and_its_description_names_its_variants(
    tmp_path: Path,
) -> None:
    scenario = load_example(tmp_path)
    assert scenario.workload["pay"] is True  # psp-faults acts on payments only
    strategies = [v.settings["claim_strategy"] for v in scenario.matrix()]
    assert strategies == ["redis-gate", "conditional"]
    assert all(s in scenario.description for s in strategies)
    assert {f.kind for f in scenario.nemesis} == {"psp-faults"}


def test_code_blocks_are_shell_python_text_or_output() -> None:
    odd = [(b.line, b.language) for b in blocks() if b.language not in LANGUAGES]
    assert odd == [], "tag shell blocks `sh` (run by the README test) or mark them"


def test_only_shell_blocks_are_marked_illustrative_and_each_says_why() -> None:
    marked = [b for b in blocks() if b.illustrative is not None]
    assert marked and all(b.language == "sh" and len(b.illustrative or "") > 10 for b in marked)


def walkthrough() -> list[str]:
    """The running blocks from ``eval "$(ticketlab up --app)"`` through payment confirm."""
    running = [b.code for b in blocks() if b.runs]
    start = next(i for i, code in enumerate(running) if 'eval "$(ticketlab up --app)"' in code)
    end = next(i for i, code in enumerate(running) if "payments/confirm" in code)
    return running[start : end + 1]


def commands(code: str) -> str:
    return "\n".join(line.split(" #")[0] for line in code.splitlines() if not line.startswith("#"))


def test_the_walkthrough_runs_from_a_reset_venue_to_payment_confirm() -> None:
    code = "".join(walkthrough())
    for step in ("python -m service reset", "/holds", "/reservation", "/payment", "/confirm"):
        assert step in code, step


def test_the_walkthrough_follows_the_exported_urls_not_fixed_ports() -> None:
    code = commands("".join(walkthrough()))
    assert [port for port in (":8080", ":9000", ":9100") if port in code] == []
    assert "SERVICE=$TICKETLAB_SERVICE_URL" in code


def test_the_walkthrough_sets_every_variable_it_uses() -> None:
    code = commands("".join(walkthrough()))
    used = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", code))
    assigned = set(re.findall(r"^\s*([A-Z_][A-Z0-9_]*)=", code, re.MULTILINE))
    exported = {"TICKETLAB_SERVICE_URL", "TICKETLAB_PSP_URL", "TICKETLAB_OIDC_ISSUER"}
    assert sorted(used - assigned - exported) == []
