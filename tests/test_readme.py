"""The README documents every setting, so users never meet an undocumented variable."""

from pathlib import Path

from service.config import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_in_the_readme_settings_table() -> None:
    text = README.read_text()
    missing = [name for name, _ in Settings.documented() if f"`{name}`" not in text]
    assert missing == []
