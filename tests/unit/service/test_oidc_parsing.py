"""Whatever the identity provider sends back, reading it never raises."""

import pytest

from service.adapters.oidc import _loads


@pytest.mark.parametrize("raw", [b"[" * 20000, b"1" * 5000, b"\xff\xfe", b"{oops"])
def test_an_unreadable_provider_answer_reads_as_nothing(raw: bytes) -> None:
    assert _loads(raw) is None


def test_a_readable_answer_is_returned() -> None:
    assert _loads(b'{"issuer": "x"}') == {"issuer": "x"}
