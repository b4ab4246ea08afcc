"""Survivors of ``nox -s mutate`` by module, with the cosmetic and the equivalent set apart.

mutmut stores each mutated file's verdicts in ``mutants/<path>.meta`` (exit code by mutant
name) and every mutant as a function beside the original in ``mutants/<path>``. A survivor
is one of three kinds here, so the headline number is honest:

- *message*: the mutant only changes string literals that are text or key names (a
  summary, a counterexample's ``"problem"``, a metric key) — not a string compared with,
  looked up by, or tested for membership, which is logic;
- *equivalent*: listed with its reason in ``tests/unit/equivalent_mutants.toml``, together
  with a line of the mutant's code that must still be in it (a renumbered mutant no
  longer matches and counts as logic again);
- *logic*: every other survivor, including mutants no test reached.

Usage: ``python tests/mutation_report.py [--max-logic-pct 5]`` from the project root after
``mutmut run``; exits 1 when an area's logic survivors exceed the limit.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENT = ROOT / "tests" / "unit" / "equivalent_mutants.toml"
AREAS = ("scenarios/checks/", "service/domain/", "scenarios/load/shapes.py")

KILLED = {1, 3, 24, -24, 36, 37, 152, 255, -11, -9}  # failed, errored, timed out, crashed
SURVIVED = {0, 5, 33}  # tests passed, or no test reached the mutant
# Calls whose string argument is a key looked up, not text shown.
LOOKUPS = {"get", "pop", "setdefault", "among", "startswith", "endswith", "index", "getattr"}


@dataclass
class Tally:
    total: int = 0
    killed: int = 0
    survived: int = 0
    unchecked: int = 0
    message: int = 0
    equivalent: int = 0
    logic: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.total += other.total
        self.killed += other.killed
        self.survived += other.survived
        self.unchecked += other.unchecked
        self.message += other.message
        self.equivalent += other.equivalent
        self.logic += other.logic

    @property
    def logic_pct(self) -> float:
        return 100 * len(self.logic) / self.total if self.total else 0.0


def logic_strings(tree: ast.AST) -> set[int]:
    """ids of string constants whose value decides behaviour (compared, looked up)."""
    found: set[int] = set()

    def mark(node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                found.add(id(sub))

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if not isinstance(operand, ast.JoinedStr):
                    mark(operand)
        elif isinstance(node, ast.Subscript):
            mark(node.slice)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in LOOKUPS and node.args:
                mark(node.args[0])
    return found


def differences(a: object, b: object, out: list[tuple[object, object]]) -> None:
    """The outermost pairs of nodes where two ASTs differ."""
    if type(a) is not type(b):
        out.append((a, b))
    elif isinstance(a, ast.Constant):
        if type(a.value) is not type(b.value) or a.value != b.value:  # type: ignore[attr-defined]
            out.append((a, b))
    elif isinstance(a, ast.AST):
        for name in a._fields:
            va, vb = getattr(a, name, None), getattr(b, name, None)
            if isinstance(va, list) and isinstance(vb, list) and len(va) == len(vb):
                for x, y in zip(va, vb, strict=True):
                    differences(x, y, out)
            elif isinstance(va, list | ast.AST) or va != vb:
                if isinstance(va, ast.AST) and isinstance(vb, ast.AST):
                    differences(va, vb, out)
                elif va != vb:
                    out.append((a, b))
    elif a != b:
        out.append((a, b))


def is_cosmetic(original: ast.FunctionDef, mutant: ast.FunctionDef) -> bool:
    """Only text changed: each difference swaps a text string (or f-string) for another
    string or for None, and none of those strings is compared or looked up."""
    a, b = ast.parse(ast.unparse(original)), ast.parse(ast.unparse(mutant))
    a.body[0].name = b.body[0].name = ""  # type: ignore[attr-defined]
    logic = logic_strings(a)
    found: list[tuple[object, object]] = []
    differences(a, b, found)

    def text(node: object) -> bool:
        if isinstance(node, ast.JoinedStr):
            return not any(id(v) in logic for v in ast.walk(node))
        is_str = isinstance(node, ast.Constant) and isinstance(node.value, str)
        return is_str and id(node) not in logic

    def replacement(node: object) -> bool:
        return isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str))
        )

    return bool(found) and all(text(x) and replacement(y) for x, y in found)


def functions_of(path: Path) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(path.read_text())
    return {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name
    }


def equivalents() -> dict[str, dict[str, str]]:
    if not EQUIVALENT.exists():
        return {}
    data = tomllib.loads(EQUIVALENT.read_text())
    return {e["mutant"]: e for e in data.get("equivalent", [])}


def tally_file(meta: Path, listed: dict[str, dict[str, str]], stale: set[str]) -> Tally:
    source = meta.with_suffix("")
    exit_codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
    functions = functions_of(source)
    tally = Tally()
    for name, code in sorted(exit_codes.items()):
        tally.total += 1
        if code not in KILLED:
            stale.discard(name)  # a listed mutant that was not checked is not stale
        if code in KILLED:
            tally.killed += 1
            continue
        if code not in SURVIVED:
            tally.unchecked += 1
            tally.logic.append(f"{name} (not checked: exit code {code})")
            continue
        tally.survived += 1
        local = name.rsplit(".", 1)[1]
        mutant = functions.get(local)
        original = functions.get(local.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
        if mutant is None or original is None:
            tally.logic.append(name)
            continue
        entry = listed.get(name)
        if entry is not None:
            if entry.get("line", "").strip() in ast.unparse(mutant):
                tally.equivalent += 1
                continue
            tally.logic.append(f"{name} (listed as equivalent, but its line no longer matches)")
            continue
        if is_cosmetic(original, mutant):
            tally.message += 1
        else:
            tally.logic.append(name)
    return tally


def area_of(module: str) -> str:
    return next((a for a in AREAS if module.startswith(a)), "other")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--max-logic-pct", type=float, default=None)
    args = parser.parse_args(argv)
    if not MUTANTS.is_dir():
        print("no mutants/ directory: run `mutmut run` first", file=sys.stderr)
        return 2

    listed = equivalents()
    stale = set(listed)
    by_module: dict[str, Tally] = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = str(meta.relative_to(MUTANTS).with_suffix(""))
        if area_of(module) == "other":
            continue
        by_module[module] = tally_file(meta, listed, stale)

    by_area: dict[str, Tally] = defaultdict(Tally)
    header = (
        f"{'module':<34} {'mutants':>7} {'killed':>7} {'survived':>8} {'message':>7} "
        f"{'equiv':>5} {'logic':>5} {'logic %':>7}"
    )
    print(header)
    print("-" * len(header))

    def row(name: str, t: Tally) -> str:
        return (
            f"{name:<34} {t.total:>7} {t.killed:>7} {t.survived + t.unchecked:>8} "
            f"{t.message:>7} {t.equivalent:>5} {len(t.logic):>5} {t.logic_pct:>6.1f}%"
        )

    for module, t in by_module.items():
        by_area[area_of(module)].add(t)
        if t.total:
            print(row(module, t))
    print("-" * len(header))
    for area in AREAS:
        print(row(area, by_area[area]))

    survivors = [(m, name) for m, t in by_module.items() for name in t.logic]
    if survivors:
        print("\nlogic survivors (see one with `mutmut show NAME`):")
        for module, name in survivors:
            print(f"  {module}: {name}")
    for name in sorted(stale):
        print(f"warning: {name} is listed as equivalent but did not survive", file=sys.stderr)

    if args.max_logic_pct is not None:
        over = [
            a
            for a in ("scenarios/checks/", "service/domain/")
            if by_area[a].logic_pct > args.max_logic_pct
        ]
        if over:
            print(f"\nlogic survivors above {args.max_logic_pct}% in: {', '.join(over)}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
