"""The README documents every setting, so users never meet an undocumented variable."""

from pathlib import Path

from service.config import Settings
from tests.support.paths import README


def test_every_setting_is_in_the_readme_settings_table() -> None:
    text = README.read_text()
    missing = [name for name, _ in Settings.documented() if f"`{name}`" not in text]
    assert missing == []


def test_the_worked_scenario_example_validates(tmp_path: Path) -> None:
    from scenarios.catalog import load_scenario

    text = README.read_text()
    section = text[text.index("### Writing a scenario") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 20)]
    example = tmp_path / "hot_seats.py"
    example.write_text(code)
    scenario = load_scenario(str(example))
    assert scenario.problems() == []
    assert [v.name for v in scenario.matrix()] == ["gate", "conditional"]
