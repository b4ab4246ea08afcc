"""The synthetic run directory the report tests build on."""

from __future__ import annotations

from pathlib import Path

from tests.support.run_dirs import standard_run


def test_builder_writes_a_run_directory(tmp_path: Path) -> None:
    run = standard_run(tmp_path)
    assert (run / "manifest.json").is_file()
    assert (run / "variants" / "naive" / "resources.csv").is_file()
    assert not (run / "variants" / "conditional" / "resources.csv").exists()
    lines = (run / "variants" / "naive" / "operations.jsonl").read_text().splitlines()
    assert len(lines) == 20 + 200 + 100 + 1
