"""What a piece of the source tree imports, read with ``ast`` (nothing is imported)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT


def absolute_imports(where: Path) -> Iterator[tuple[str, str]]:
    """(file relative to the repository, module) for every import in ``where``, a file or a
    folder; a lazy import inside a function counts as much as one at the top.

    Relative imports are resolved to the modules they name, and ``from a import b`` yields
    both ``a`` and ``a.b``, so neither ``from . import x`` nor ``from service import http``
    slips past a layering rule.
    """
    paths = [where] if where.is_file() else sorted(where.glob("**/*.py"))
    assert paths, f"nothing to read at {where}"
    for path in paths:
        relative = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = imported_module(relative, node.level, node.module)
                names = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for name in names:
                yield str(relative), name


def imported_module(relative: Path, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import …`` written in ``relative``."""
    if level == 0:
        return module or ""
    package = relative.with_suffix("").parts[:-1]  # a module's package, or __init__'s own
    base = package[: len(package) - (level - 1)]
    return ".".join((*base, *([module] if module else [])))


def lab_imports(where: Path, lab: tuple[str, ...]) -> list[str]:
    """``file: module`` for every import in ``where`` of a top-level package in ``lab``."""
    found = absolute_imports(where)
    return [f"{file}: {name}" for file, name in found if name.split(".")[0] in lab]
