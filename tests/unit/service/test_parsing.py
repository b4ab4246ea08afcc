"""Request parsing: integers as JSON Schema counts them, id lists."""

from __future__ import annotations

import pytest

from service.domain.errors import InvalidRequest
from service.http.parsing import MAX_EXACT_FLOAT_INT, as_int, int_list


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, 7),
        (7.0, 7),
        (-3.0, -3),
        (float(MAX_EXACT_FLOAT_INT), MAX_EXACT_FLOAT_INT),
        (7.5, None),
        (float(2**60), None),  # not every integer this large is a float
        (float("inf"), None),
        (True, None),
        ("7", None),
        (None, None),
    ],
)
def test_integers_are_what_json_schema_calls_integers(value: object, expected: int | None) -> None:
    assert as_int(value) == expected


def test_an_id_list_takes_integral_numbers_written_with_a_fraction() -> None:
    assert int_list({"ids": [3, 4.0]}, "ids", max_items=5) == [3, 4]


def test_an_id_list_that_must_be_unique_names_the_repeated_ids() -> None:
    with pytest.raises(InvalidRequest, match="ids repeats 4, 9"):
        int_list({"ids": [4, 9, 4.0, 9, 1]}, "ids", max_items=5, unique=True)
