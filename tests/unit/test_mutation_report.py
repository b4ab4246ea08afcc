"""The survivor classifier behind ``nox -s mutate``: text changes apart from logic changes."""

from __future__ import annotations

import ast

import pytest

from tests.mutation_report import is_cosmetic


def function(source: str) -> ast.FunctionDef:
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


ORIGINAL = """
def f(row, found):
    if row.status == "ACTIVE" and row.get("kind") in ("a", "b"):
        found.append({"problem": "alive", "id": row.id, "note": f"since {row.at}"})
    return judge(NAME, what="holds alive", metrics=row.metrics)
"""


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"problem": "alive"', '"problem": "XXaliveXX"'),
        ('"problem": "alive"', '"XXproblemXX": "alive"'),
        ('"problem": "alive"', '"problem": None'),
        ('f"since {row.at}"', 'f"XXsince XX{row.at}"'),
        ('what="holds alive"', "what=None"),
    ],
)
def test_a_change_of_text_or_key_name_is_cosmetic(old: str, new: str) -> None:
    assert is_cosmetic(function(ORIGINAL), function(ORIGINAL.replace(old, new)))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('== "ACTIVE"', '== "XXACTIVEXX"'),
        ('row.get("kind")', 'row.get("XXkindXX")'),
        ('("a", "b")', '("XXaXX", "b")'),
        ("judge(NAME", "judge(None"),
        ("metrics=row.metrics", "metrics=None"),
        ('"id": row.id', '"id": None'),
        ("==", "!="),
    ],
)
def test_a_change_of_what_is_compared_looked_up_or_computed_is_logic(old: str, new: str) -> None:
    assert not is_cosmetic(function(ORIGINAL), function(ORIGINAL.replace(old, new, 1)))


def test_an_unchanged_function_is_not_a_cosmetic_mutant() -> None:
    assert not is_cosmetic(function(ORIGINAL), function(ORIGINAL))
