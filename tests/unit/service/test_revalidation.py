"""Content negotiation of cached reads: gzip, If-None-Match, the seat map's form."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from service.domain.errors import InvalidRequest
from service.http.revalidation import (
    COMPACT,
    COMPACT_MEDIA_TYPE,
    VERBOSE,
    accepts_gzip,
    encoded_body,
    etag_matches,
    seat_map_form,
)


def request(path: str = "/", **headers: str) -> object:
    return make_mocked_request("GET", path, headers=headers)


@pytest.mark.parametrize(
    ("header", "gzip"),
    [("gzip, deflate", True), ("br;q=1.0, gzip;q=0.5", True), ("gzip;q=0", False), ("", False)],
)
def test_gzip_is_used_only_when_accepted(header: str, gzip: bool) -> None:
    assert accepts_gzip(request(**{"Accept-Encoding": header})) is gzip


def test_if_none_match_compares_weakly_and_across_codings() -> None:
    etag = '"sm7v3-verbose-gz"'
    assert etag_matches(request(**{"If-None-Match": '"sm7v3-verbose"'}), etag)
    assert etag_matches(request(**{"If-None-Match": 'W/"x", "sm7v3-verbose-gz"'}), etag)
    assert etag_matches(request(**{"If-None-Match": "*"}), etag)
    assert not etag_matches(request(**{"If-None-Match": '"sm7v2-verbose-gz"'}), etag)
    assert not etag_matches(request(), etag)


def test_the_form_comes_from_the_query_then_accept() -> None:
    assert seat_map_form(request("/?form=verbose", Accept=COMPACT_MEDIA_TYPE)) == VERBOSE
    assert seat_map_form(request(Accept=COMPACT_MEDIA_TYPE)) == COMPACT
    assert seat_map_form(request()) == VERBOSE
    with pytest.raises(InvalidRequest, match="form='tiny'"):
        seat_map_form(request("/?form=tiny"))


def test_a_body_is_encoded_once_per_cache() -> None:
    cache: dict[str, bytes] = {}
    built: list[int] = []

    def build() -> dict[str, int]:
        built.append(1)
        return {"n": 1}

    first = encoded_body(cache, "verbose", True, build)
    assert encoded_body(cache, "verbose", True, build) is first
    assert encoded_body(cache, "verbose", False, build) == b'{"n":1}'
    assert len(built) == 1
