"""The quiesce's provider probe: settled only when no webhook chain is retrying and none is
still to come from a checkout that will yet confirm or expire."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from scenarios.quiesce import webhooks_probe


class Provider:
    """Answers ``GET /_lab/deliveries`` with whatever the test sets."""

    def __init__(self) -> None:
        self.answer: Any = {"pending": 0, "openCheckouts": 0}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(provider.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def provider() -> Iterator[Provider]:
    found = Provider()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()
    thread.join(5)


def test_settled_when_nothing_is_pending_and_no_checkout_is_open(provider: Provider) -> None:
    assert webhooks_probe(provider.url)() is None


def test_pending_deliveries_keep_it_waiting(provider: Provider) -> None:
    provider.answer = {"pending": 2, "openCheckouts": 0}
    assert webhooks_probe(provider.url)() == "2 webhook deliveries pending"


def test_an_open_checkout_keeps_it_waiting_though_nothing_is_pending(provider: Provider) -> None:
    provider.answer = {"pending": 0, "openCheckouts": 3}
    reason = webhooks_probe(provider.url)()
    assert reason == "3 checkouts not yet confirmed or expired at the provider"


def test_a_malformed_answer_is_named_not_taken_for_settled(provider: Provider) -> None:
    provider.answer = {"waiting": 0}
    reason = webhooks_probe(provider.url)()
    assert reason is not None and reason.startswith("provider did not answer")


def test_an_absent_provider_is_named_not_taken_for_settled() -> None:
    reason = webhooks_probe("http://127.0.0.1:9")()
    assert reason is not None and reason.startswith("provider did not answer")
