"""Domain objects become JSON the way the API documents them."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pytest

from service.http.serialize import dumps


class Colour(StrEnum):
    RED = "RED"


@dataclass
class Inner:
    at: datetime
    colour: Colour


@dataclass
class Outer:
    id: int
    inner: Inner
    tags: frozenset[str]


def test_nested_dataclasses_enums_and_utc_times_encode() -> None:
    value = Outer(7, Inner(datetime(2026, 11, 25, 15, 0, tzinfo=UTC), Colour.RED), frozenset("ba"))
    assert json.loads(dumps({"items": [value]})) == {
        "items": [
            {"id": 7, "inner": {"at": "2026-11-25T15:00:00Z", "colour": "RED"}, "tags": ["a", "b"]}
        ]
    }


def test_an_unknown_type_is_an_error_not_silently_a_string() -> None:
    with pytest.raises(TypeError, match="object"):
        dumps({"x": object()})
