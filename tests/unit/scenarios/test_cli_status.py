"""``ticketlab status``: one aligned row per part, threads included, details under their part."""

from __future__ import annotations

from scenarios.cli import status_lines
from scenarios.stack import PartStatus


def test_rows_are_aligned_whatever_the_part_names_and_show_threads() -> None:
    parts = [
        PartStatus(
            "replica",
            True,
            "mysql://127.0.0.1:3408",
            11,
            True,
            3408,
            True,
            {"Seconds_Behind_Master": "0"},
            threads=15,
        ),
        PartStatus(
            "app-service", True, "http://127.0.0.1:8080", 12345, True, 8080, True, threads=9
        ),
        PartStatus("rabbitmq", False, "amqp://127.0.0.1:5672/v", None, False, 5672, False),
    ]
    header, replica, lag, service, rabbit = status_lines(parts)
    assert header.split() == ["part", "state", "owner", "pid", "threads", "answering", "url"]
    starts = {header.index("url"), replica.index("mysql"), service.index("http")}
    assert len(starts | {rabbit.index("amqp")}) == 1
    assert replica.split()[3:7] == ["11", "(alive)", "15", "yes"] and service.split()[5] == "9"
    assert rabbit.split()[1:5] == ["DOWN", "given", "-", "-"]
    assert lag.strip() == "Seconds_Behind_Master: 0"
