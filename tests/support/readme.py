"""The README's fenced code blocks, and which of them a reader may paste into a shell.

The convention, checked by ``tests/unit/test_readme_blocks.py`` and relied on by
``tests/e2e/test_readme_blocks.py``, which runs the blocks:

- a block tagged ``sh`` is a command a reader may paste: it is run, in README order;
- a block tagged ``sh`` right after a line ``<!-- illustrative: why -->`` is not run
  (it installs things, runs for minutes, or serves until Ctrl-C), and says why;
- ``python``, ``text`` and untagged blocks (a program's output) are not shell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.support.paths import README

FENCE = re.compile(r"^```(\S*)\s*$")
ILLUSTRATIVE = re.compile(r"^<!-- illustrative: (?P<why>.+?) -->$")
LANGUAGES = ("sh", "python", "text", "")


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    illustrative: str | None  # the reason, when marked so

    @property
    def runs(self) -> bool:
        return self.language == "sh" and self.illustrative is None

    @property
    def first_line(self) -> str:
        return next((line for line in self.code.splitlines() if line.strip()), "")


def blocks(text: str | None = None) -> list[Block]:
    lines = (README.read_text() if text is None else text).splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = ILLUSTRATIVE.match(before.strip())
        code = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Block(index + 1, opening[1], code, marker["why"] if marker else None))
        index = end + 1
    return found


def python_example() -> str:
    """The worked scenario example (the README asks the reader to save it as hot_seats.py)."""
    return next(b.code for b in blocks() if b.language == "python" and "SCENARIO" in b.code)
