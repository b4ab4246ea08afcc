"""What a piece of the source tree imports, read with ``ast`` (nothing is imported)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support.paths import ROOT


def absolute_imports(where: Path) -> Iterator[tuple[str, str]]:
    """(file relative to the repository, module) for every absolute import in ``where``, a
    file or a folder; a lazy import inside a function counts as much as one at the top."""
    paths = [where] if where.is_file() else sorted(where.glob("**/*.py"))
    assert paths, f"nothing to read at {where}"
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                yield str(path.relative_to(ROOT)), name
