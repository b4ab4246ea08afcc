"""The use cases' counts, as the service's Prometheus metrics (``service.metrics``)."""

from __future__ import annotations

from service import metrics
from service.domain.holds import ReleasedBy
from service.domain.payments import RefundReason
from service.ports import Metrics


class PrometheusMetrics(Metrics):
    def hold_granted(self, strategy: str) -> None:
        metrics.holds_granted.labels(strategy=strategy).inc()

    def hold_refused(self, strategy: str, reason: str) -> None:
        metrics.holds_refused.labels(strategy=strategy, reason=reason).inc()

    def holds_released(self, by: ReleasedBy, n: int = 1) -> None:
        metrics.holds_released.labels(released_by=by.value).inc(n)

    def payment_settled(self, outcome: str, source: str) -> None:
        metrics.payments.labels(outcome=outcome, source=source).inc()

    def refunded(self, reason: RefundReason) -> None:
        metrics.refunds_after_expiry.labels(reason=reason.value).inc()

    def webhook_duplicate(self, applied: bool) -> None:
        metrics.webhook_duplicates.labels(applied=str(applied).lower()).inc()

    def reconciler_checked(self, result: str) -> None:
        metrics.reconciler_checks.labels(result=result).inc()
