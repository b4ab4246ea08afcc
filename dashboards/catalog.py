"""The lab's four Grafana dashboards: overview, service, resources, replication.

Each panel's queries read the measurements of ``dashboards/schema.py`` for the runs and
variants chosen in the ``run`` and ``variant`` variables. Points are per second, so
per-second rates are sums over an interval scaled by its length, counters scraped from the
service become rates by ``non_negative_derivative``, and percentiles of an interval longer
than a second are the worst second's (a mean of percentiles would mean nothing).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard

from dashboards import schema
from dashboards.panels import Chart, Row, dashboard, select

PER_SECOND = "* 1000 / $__interval_ms"
BY_OPERATION = ("variant", "operation")


def rate(measurement: str, by: tuple[str, ...]) -> str:
    """A scraped counter's increase per second."""
    return select(
        f'non_negative_derivative(last("{schema.METRIC_FIELD}"), 1s)',
        measurement,
        by=("variant", *by),
    )


def gauge(measurement: str, how: str = "max") -> str:
    return select(f'{how}("{schema.METRIC_FIELD}")', measurement)


def latency(percentile: str) -> Chart:
    return Chart(
        f"Latency {percentile} by operation",
        "ms",
        [
            (
                select(f'max("{percentile}_ms")', schema.LOAD, by=BY_OPERATION),
                f"$tag_variant $tag_operation {percentile}",
            )
        ],
        description=f"Exact {percentile} of the operations that ended in each second, from "
        "the intended start (coordinated omission); over longer intervals the worst second.",
        width=8,
        log_scale=True,
    )


def overview() -> Dashboard:
    load = Row(
        "Load",
        [
            Chart(
                "Throughput by operation",
                "reqps",
                [
                    (
                        select(
                            f'(sum("ok") + sum("refused")) {PER_SECOND} AS "throughput"',
                            schema.LOAD,
                            by=BY_OPERATION,
                        ),
                        "$tag_variant $tag_operation",
                    )
                ],
                description="Operations per second that succeeded or were refused as "
                "expected (a 409: the seat was taken).",
            ),
            Chart(
                "Errors and cut-off requests by operation",
                "reqps",
                [
                    (
                        select(
                            f'sum("errors") {PER_SECOND} AS "errors"', schema.LOAD, by=BY_OPERATION
                        ),
                        "$tag_variant $tag_operation errors",
                    ),
                    (
                        select(
                            f'sum("cut_off") {PER_SECOND} AS "cut_off"',
                            schema.LOAD,
                            by=BY_OPERATION,
                        ),
                        "$tag_variant $tag_operation cut off",
                    ),
                ],
                description="Errors per second (neither ok nor an expected refusal; outcomes "
                "unknown included), and requests cut off by the generator's stop, apart.",
            ),
            Chart(
                "Users",
                "short",
                [(select('max("users")', schema.USERS), "$tag_variant users")],
                description="Locust users running.",
                width=24,
                height=6,
            ),
        ],
    )
    percentiles = Row("Latency", [latency("p50"), latency("p95"), latency("p99")])
    return dashboard(
        "ticketlab-overview",
        "ticketlab — overview",
        "Throughput, errors, latency percentiles and users of the chosen runs, with fault "
        "windows and phase changes as annotations.",
        [load, percentiles],
    )


def service() -> Dashboard:
    requests = Row(
        "Requests",
        [
            Chart(
                "Requests by route and status",
                "reqps",
                [
                    (
                        rate(schema.HTTP_REQUESTS, ("method", "route", "status")),
                        "$tag_variant $tag_method $tag_route $tag_status",
                    )
                ],
                description="The service's own count of requests served (all workers).",
                width=24,
                stacked=True,
            ),
        ],
    )
    pool = Row(
        "Pool and event loop",
        [
            Chart(
                "Database pool",
                "short",
                [
                    (gauge(schema.POOL_IN_USE), "$tag_variant in use"),
                    (gauge(schema.POOL_WAITING), "$tag_variant waiting"),
                    (gauge(schema.POOL_SIZE), "$tag_variant open"),
                ],
                description="Connections lent out, requests waiting for one, and connections "
                "open, summed over the live workers.",
            ),
            Chart(
                "Event-loop lag",
                "s",
                [(gauge(schema.LOOP_LAG), "$tag_variant lag")],
                description="The worst worker's event-loop lag.",
            ),
        ],
    )
    holds = Row(
        "Holds",
        [
            Chart(
                "Holds granted and refused",
                "reqps",
                [
                    (rate(schema.HOLDS_GRANTED, ("strategy",)), "$tag_variant granted"),
                    (
                        rate(schema.HOLDS_REFUSED, ("strategy", "reason")),
                        "$tag_variant refused: $tag_reason",
                    ),
                ],
            ),
            Chart(
                "Holds released",
                "reqps",
                [
                    (
                        rate(schema.HOLDS_RELEASED, ("released_by",)),
                        "$tag_variant by $tag_released_by",
                    )
                ],
                description="Holds ended by their owner, the expiry message or the sweeper.",
            ),
        ],
    )
    money = Row(
        "Outbox and payments",
        [
            Chart(
                "Outbox backlog",
                "short",
                [(gauge(schema.OUTBOX_BACKLOG), "$tag_variant backlog")],
                description="Events committed but not yet confirmed by the broker.",
            ),
            Chart(
                "Payments settled",
                "reqps",
                [
                    (
                        rate(schema.PAYMENTS, ("outcome", "source")),
                        "$tag_variant $tag_outcome ($tag_source)",
                    )
                ],
            ),
        ],
    )
    return dashboard(
        "ticketlab-service",
        "ticketlab — service",
        "The service's own metrics, scraped each second: requests, pool, event loop, holds, "
        "outbox and payments.",
        [requests, pool, holds, money],
    )


def resources() -> Dashboard:
    by_process = ("variant", "role", "pid")

    def per_process(title: str, field: str, how: str, unit: str) -> Chart:
        return Chart(
            title,
            unit,
            [
                (
                    select(f'{how}("{field}")', schema.RESOURCES, by=by_process),
                    "$tag_variant $tag_role $tag_pid",
                )
            ],
        )

    return dashboard(
        "ticketlab-resources",
        "ticketlab — resources",
        "CPU, memory, file descriptors and threads of every process the lab runs.",
        [
            Row(
                "Processes",
                [
                    per_process("CPU by process", "cpu_percent", "mean", "percent"),
                    per_process("Memory (RSS) by process", "rss_bytes", "max", "bytes"),
                    per_process("File descriptors by process", "fds", "max", "short"),
                    per_process("Threads by process", "threads", "max", "short"),
                ],
            )
        ],
    )


def replication() -> Dashboard:
    return dashboard(
        "ticketlab-replication",
        "ticketlab — replication",
        "How far the replica is behind the primary.",
        [
            Row(
                "Replica",
                [
                    Chart(
                        "Replication lag",
                        "s",
                        [(select('max("lag_s")', schema.REPLICATION), "$tag_variant lag")],
                        description="The replica's delay behind the primary, each second.",
                        width=24,
                    )
                ],
            )
        ],
    )


DASHBOARDS = {
    "overview": overview,
    "service": service,
    "resources": resources,
    "replication": replication,
}
