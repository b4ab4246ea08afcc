"""The scenario catalog: one file per scenario, each defining ``SCENARIO``.

A name is the file's stem with ``_`` spelled ``-`` (``double_booking.py`` → ``double-booking``).
``load_scenario`` also takes a path to any ``.py`` file that defines ``SCENARIO``.
"""

from __future__ import annotations

import importlib
import importlib.util
import traceback
from pathlib import Path

from scenarios.spec import Scenario

HERE = Path(__file__).resolve().parent


class UnknownScenario(LookupError):
    """No scenario by that name, or a file that does not define one (or does not import)."""


def import_failure(path: Path, exc: Exception) -> str:
    """Where a scenario file broke, as a user can act on it: file, line, the error."""
    if isinstance(exc, SyntaxError):
        return f"{path}, line {exc.lineno}: {exc.msg} (the file does not import)"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    line = f", line {frames[-1].lineno}" if frames else ""
    return f"{path}{line}: {type(exc).__name__}: {exc} (the file does not import)"


def catalog_names() -> list[str]:
    return sorted(p.stem.replace("_", "-") for p in HERE.glob("*.py") if p.stem != "__init__")


def load_scenario(name_or_path: str) -> Scenario:
    """A catalog scenario by name, or the ``SCENARIO`` of a file (``./my_scenario.py``)."""
    path = Path(name_or_path)
    if name_or_path.endswith(".py") or "/" in name_or_path:
        if not path.is_file():
            raise UnknownScenario(f"no scenario file at {name_or_path}")
        spec = importlib.util.spec_from_file_location(f"scenario_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise UnknownScenario(f"cannot load {name_or_path} as Python")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise UnknownScenario(import_failure(path, exc)) from None
    else:
        if name_or_path not in catalog_names():
            raise UnknownScenario(
                f"unknown scenario {name_or_path!r}; the catalog has: {', '.join(catalog_names())}"
            )
        module = importlib.import_module(f"scenarios.catalog.{name_or_path.replace('-', '_')}")
    scenario = getattr(module, "SCENARIO", None)
    if not isinstance(scenario, Scenario):
        raise UnknownScenario(f"{name_or_path} defines no SCENARIO = Scenario(...)")
    return scenario
