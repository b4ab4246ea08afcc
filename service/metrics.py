"""Prometheus metrics of the service, in multiprocess mode.

Several worker processes serve one port, so every metric is written to
``PROMETHEUS_MULTIPROC_DIR`` (set by ``python -m service`` before anything imports this)
and ``/metrics`` aggregates all workers. Gauges say how to combine workers.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

http_requests = Counter(
    "ticketlab_http_requests", "HTTP requests served", ["method", "route", "status"]
)
http_latency = Histogram(
    "ticketlab_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
db_pool_size = Gauge("ticketlab_db_pool_size", "open pool connections", multiprocess_mode="livesum")
db_pool_in_use = Gauge(
    "ticketlab_db_pool_in_use", "pool connections lent out", multiprocess_mode="livesum"
)
db_pool_waiting = Gauge(
    "ticketlab_db_pool_waiting", "requests waiting for a connection", multiprocess_mode="livesum"
)
db_pool_max = Gauge("ticketlab_db_pool_max", "pool size limit", multiprocess_mode="livesum")
holds_granted = Counter("ticketlab_holds_granted", "holds granted", ["strategy"])
holds_refused = Counter("ticketlab_holds_refused", "holds refused", ["strategy", "reason"])
lock_waits = Counter(
    "ticketlab_lock_waits", "claims that waited on or lost a lock", ["strategy", "kind"]
)
holds_released = Counter("ticketlab_holds_released", "holds released", ["released_by"])
event_loop_lag = Gauge(
    "ticketlab_event_loop_lag_seconds", "event-loop lag of the worker", multiprocess_mode="max"
)
# Per worker (the lab reads each worker's own file); livesum adds workers up in /metrics.
gc_collections = Gauge(
    "ticketlab_gc_collections",
    "garbage collections of the worker since it started, by generation",
    ["generation"],
    multiprocess_mode="livesum",
)
payments = Counter("ticketlab_payments", "payment settlements by outcome", ["outcome", "source"])
psp_call_seconds = Histogram(
    "ticketlab_psp_call_seconds",
    "payment provider call latency",
    ["operation", "result"],
    buckets=LATENCY_BUCKETS,
)
refunds_after_expiry = Counter(
    "ticketlab_refunds_after_expiry",
    "captures refunded because the reservation could not take them",
    ["reason"],
)
webhooks_received = Counter("ticketlab_webhooks", "provider webhooks received", ["result"])
webhook_duplicates = Counter(
    "ticketlab_webhook_duplicates", "webhook deliveries of an event already applied", ["applied"]
)
reconciler_checks = Counter(
    "ticketlab_reconciler_checks", "unsettled payments the reconciler asked about", ["result"]
)
outbox_backlog = Gauge(
    "ticketlab_outbox_backlog",
    "outbox events committed but not yet confirmed by the broker",
    multiprocess_mode="max",
)
outbox_published = Counter(
    "ticketlab_outbox_published", "outbox events the broker confirmed", ["type"]
)
outbox_publish_failures = Counter(
    "ticketlab_outbox_publish_failures", "outbox publishes that failed and will be retried"
)
events_received = Counter(
    "ticketlab_events_received",
    "messages of the event consumer (recorded, duplicate, rejected, requeued, unsettled)",
    ["outcome"],
)
worker_restarts = Counter(
    "ticketlab_worker_restarts",
    "workers the supervisor restarted after they died, by cause (signal or exit code)",
    ["cause"],
)
rate_limit_checks = Counter(
    "ticketlab_rate_limit_checks",
    "rate-limit checks that refused a request, or could not be made (Redis away)",
    ["limit", "outcome"],
)
