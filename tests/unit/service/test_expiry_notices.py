"""Expiry messages: delay buckets and the notice's wire format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.adapters import amqp
from service.adapters.expiry import ExpiryNotice


@pytest.mark.parametrize(
    ("delay_s", "bucket_ms"),
    [
        (-1, 0),
        (0, 0),
        (0.001, 100),
        (0.25, 300),
        (0.95, 1000),
        (1.0, 1000),
        (1.001, 2000),
        (899.995, 900_000),
        (900, 900_000),
    ],
)
def test_delays_round_up_to_a_bucket(delay_s: float, bucket_ms: int) -> None:
    assert amqp.delay_bucket_ms(delay_s) == bucket_ms


def test_notice_round_trips_and_rejects_garbage() -> None:
    notice = ExpiryNotice(42, datetime(2030, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC))
    assert ExpiryNotice.from_body(notice.to_body()) == notice
    for body in (b"\xff", b"null", b'{"hold_id": true, "expires_at": "2030-01-01"}'):
        with pytest.raises(ValueError):
            ExpiryNotice.from_body(body)
