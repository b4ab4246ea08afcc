"""What a run writes to InfluxDB: the measurements, their tags and fields.

This is the contract between the writer's caller (the lab's runner, which turns its records
into points) and the dashboards (which query these names). Every point carries the tags
``run`` (the run directory's name), ``scenario`` and ``variant``.

    load           one point per operation per second of load: tag ``operation``; fields
                   requests, ok, refused (an expected 409), errors (none of those nor cut
                   off; ``unknown`` outcomes included), unknown, cut_off (interrupted by the
                   generator's stop), p50_ms, p95_ms, p99_ms — exact nearest-rank
                   percentiles of the operations that ended in that second, cut-off ones
                   left out
    users          one point per second: field users (Locust users running)
    resources      one point per process per sample: tags role, pid; fields cpu_percent,
                   rss_bytes, fds, threads
    replication    one point per second: field lag_s (the replica's delay behind the primary)
    events         annotations: tag kind (``fault`` or ``phase``); fields title, text
    <metric name>  the service's Prometheus metrics as scraped, one measurement per sample
                   name (``ticketlab_http_requests_total`` …), its labels as tags, field
                   ``value``; counters stay cumulative (dashboards take their derivative)
"""

from __future__ import annotations

LOAD = "load"
USERS = "users"
RESOURCES = "resources"
REPLICATION = "replication"
EVENTS = "events"

RUN_TAGS = ("run", "scenario", "variant")
LOAD_FIELDS = (
    "requests",
    "ok",
    "refused",
    "errors",
    "unknown",
    "cut_off",
    "p50_ms",
    "p95_ms",
    "p99_ms",
)
RESOURCE_FIELDS = ("cpu_percent", "rss_bytes", "fds", "threads")
EVENT_KINDS = ("fault", "phase")

# The service's metrics the dashboards chart (service/metrics.py names them).
HTTP_REQUESTS = "ticketlab_http_requests_total"
POOL_IN_USE = "ticketlab_db_pool_in_use"
POOL_WAITING = "ticketlab_db_pool_waiting"
POOL_SIZE = "ticketlab_db_pool_size"
LOOP_LAG = "ticketlab_event_loop_lag_seconds"
HOLDS_GRANTED = "ticketlab_holds_granted_total"
HOLDS_REFUSED = "ticketlab_holds_refused_total"
HOLDS_RELEASED = "ticketlab_holds_released_total"
OUTBOX_BACKLOG = "ticketlab_outbox_backlog"
PAYMENTS = "ticketlab_payments_total"
METRIC_FIELD = "value"

# Prometheus samples not streamed: histogram buckets multiply series by eleven and the
# client's exact percentiles say more; ``_created`` is a timestamp, not a measurement.
SKIPPED_SUFFIXES = ("_bucket", "_created")
