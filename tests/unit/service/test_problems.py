"""The one map from domain errors to problem details: statuses, titles, Retry-After."""

from __future__ import annotations

import json

import pytest

from service.domain import errors
from service.domain import payments as pay
from service.http.problems import RULES, from_domain_error


def every_subclass(base: type) -> set[type]:
    found = set()
    for sub in base.__subclasses__():
        found |= {sub, *every_subclass(sub)}
    return found


def test_every_domain_error_has_a_rule_of_its_own_or_of_a_base() -> None:
    mapped = tuple(kind for kind, _ in RULES)
    unmapped = {
        kind.__name__
        for kind in every_subclass(errors.DomainError)
        if not issubclass(kind, mapped) and kind is not errors.ProviderUnavailable
    }
    assert unmapped == set()


def test_a_subclass_is_never_shadowed_by_a_base_listed_before_it() -> None:
    for i, (kind, _) in enumerate(RULES):
        for earlier, _ in RULES[:i]:
            assert not issubclass(kind, earlier), f"{kind.__name__} after {earlier.__name__}"


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.MalformedInput("not JSON"), 400),
        (errors.InvalidQuery("state is repeated"), 400),
        (pay.AmountMismatch(1, 2), 409),
        (errors.InvalidRequest("bad"), 422),
        (errors.NotFound("hold", 1), 404),
        (errors.SeatsTaken([3]), 409),
        (errors.Unauthorized("no token"), 401),
        (errors.SignInFailed("start over"), 400),
        (errors.NotThisBrowser(), 403),
        (pay.InvalidWebhookSignature("forged"), 401),
        (pay.PaymentDeclined("declined"), 402),
        (pay.PaymentRejected("session expired"), 422),
        (pay.ProviderMisbehaved("bad key"), 502),
        (pay.PaymentRefunded(pay.RefundReason.ALREADY_PAID, "paid"), 409),
        (pay.ReservationExpired("expired"), 409),
        (errors.ProviderUnavailable("down", provider="identity", answered=True), 502),
    ],
)
def test_each_error_has_its_status(error: errors.DomainError, status: int) -> None:
    assert from_domain_error(error).status == status


@pytest.mark.parametrize(
    "error",
    [
        errors.Contention("deadlock"),
        errors.ProviderUnavailable("down", provider="payment"),
        errors.ProviderUnavailable("down", provider="identity"),
    ],
)
def test_what_may_succeed_if_tried_again_is_a_503_with_retry_after(
    error: errors.DomainError,
) -> None:
    response = from_domain_error(error)
    assert response.status == 503
    assert int(response.headers["Retry-After"]) > 0


def test_a_refusal_is_never_told_to_retry() -> None:
    assert "Retry-After" not in from_domain_error(errors.SeatsTaken([1])).headers


def test_a_provider_problem_names_the_provider_in_its_type() -> None:
    response = from_domain_error(errors.ProviderUnavailable("down", provider="identity"))
    assert response.text is not None
    assert json.loads(response.text)["type"].endswith("/identity-provider-unavailable")


def test_payment_problems_carry_what_the_client_can_act_on() -> None:
    error = pay.PaymentRefunded(
        pay.RefundReason.RESERVATION_EXPIRED, "refunded", refund="done", reservation_id=4, x=None
    )
    body = json.loads(from_domain_error(error).text or "")
    assert body["type"].endswith("/payment-refunded-reservation-expired")
    assert (body["refund"], body["reservation_id"]) == ("done", 4)
    assert "x" not in body
