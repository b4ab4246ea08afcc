"""Line protocol as the InfluxDB 1.x reference spells it: escapes, types, and what is left out."""

from __future__ import annotations

import math

from dashboards.influx import InfluxWriter, Point, escape_key, escape_measurement, field_value


def test_measurement_escapes_commas_and_spaces_but_not_equals() -> None:
    assert escape_measurement("a b,c=d") == r"a\ b\,c=d"


def test_tag_keys_and_values_escape_commas_equals_and_spaces() -> None:
    assert escape_key("k 1,x=y") == r"k\ 1\,x\=y"


def test_string_fields_are_quoted_with_quotes_and_backslashes_escaped() -> None:
    assert field_value('say "hi" \\ bye') == r'"say \"hi\" \\ bye"'


def test_newlines_become_spaces_because_line_protocol_has_none_inside_a_point() -> None:
    assert field_value("two\nlines") == '"two lines"'
    assert escape_key("a\nb") == r"a\ b"


def test_integers_carry_an_i_and_booleans_are_words() -> None:
    assert field_value(3) == "3i"
    assert field_value(True) == "true"
    assert field_value(2.5) == "2.5"


def test_non_finite_floats_cannot_be_written() -> None:
    assert field_value(math.nan) is None
    assert field_value(math.inf) is None


def test_a_point_sorts_tags_drops_empty_ones_and_stamps_milliseconds() -> None:
    point = Point(
        "ops", {"p95_ms": 12.5, "requests": 3}, {"variant": "a b", "run": "", "op": "hold"}, 1.5
    )
    assert point.line("ms") == r"ops,op=hold,variant=a\ b p95_ms=12.5,requests=3i 1500"


def test_a_point_whose_every_field_is_unwritable_is_no_line() -> None:
    assert Point("ops", {"p95_ms": math.nan}).line() is None


def test_a_full_buffer_drops_and_counts_instead_of_growing() -> None:
    writer = InfluxWriter("http://127.0.0.1:9", max_buffer=3)
    accepted = [writer.write(Point("m", {"v": i})) for i in range(5)]
    assert accepted == [True, True, True, False, False]
    assert writer.stats.dropped == 2
