"""After the load: wait, with a bound, until the system has settled.

Settled means: every hold and unpaid reservation has expired and been released, no
payment still owes a confirm or a refund, the payment provider has no webhook delivery
pending, the outbox is drained and the consumer has caught up. Whatever has not settled
when the bound runs out is named with a reason, and the checks that depend on it answer
``unknown`` instead of guessing.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from scenarios.checks.snapshot import CONSUMER, EXPIRIES, OUTBOX, PAYMENTS, WEBHOOKS, Settlement
from service import schema
from service.config import Settings

POLL_INTERVAL_S = 0.5

Probe = Callable[[], str | None]  # None when settled, else why not


@dataclass(frozen=True)
class Quiesced:
    settlement: Settlement
    seconds: float


def scalar(settings: Settings, sql: str) -> int:
    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
        conn.rollback()
    return int(row[0] or 0) if row else 0


def table_exists(settings: Settings, table: str) -> bool:
    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES LIKE %s", (table,))
        return cur.fetchone() is not None


def expiries_probe(settings: Settings) -> Probe:
    def probe() -> str | None:
        live = scalar(
            settings,
            "SELECT (SELECT COUNT(*) FROM holds WHERE status = 'ACTIVE')"
            " + (SELECT COUNT(*) FROM reservations WHERE status = 'AWAITING_PAYMENT')",
        )
        return None if live == 0 else f"{live} holds or unpaid reservations still live"

    return probe


def webhooks_probe(psp_url: str) -> Probe:
    """No chain retrying now, and none still to come: a checkout nobody confirmed expires
    at the provider after its TTL and that status change starts a chain of its own."""

    def probe() -> str | None:
        try:
            with urllib.request.urlopen(f"{psp_url}/_lab/deliveries", timeout=5) as answer:
                found = json.load(answer)
            pending = int(found["pending"])
            open_checkouts = int(found.get("openCheckouts") or 0)
        except (urllib.error.URLError, OSError, KeyError, ValueError, TypeError) as exc:
            return f"provider did not answer: {exc}"
        if pending:
            return f"{pending} webhook deliveries pending"
        if open_checkouts:
            return f"{open_checkouts} checkouts not yet confirmed or expired at the provider"
        return None

    return probe


def outbox_probe(settings: Settings) -> Probe:
    def probe() -> str | None:
        backlog = scalar(settings, "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
        return None if backlog == 0 else f"{backlog} events not yet published"

    return probe


def consumer_probe(settings: Settings) -> Probe:
    def probe() -> str | None:
        missing = scalar(
            settings,
            "SELECT COUNT(*) FROM outbox o WHERE o.published_at IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM received_events r WHERE r.event_id = o.id)",
        )
        return None if missing == 0 else f"{missing} published events not yet received"

    return probe


def payments_probe(settings: Settings) -> Probe:
    def probe() -> str | None:
        owed = scalar(settings, "SELECT COUNT(*) FROM payments WHERE settled = 0")
        return None if owed == 0 else f"{owed} payments still owe a confirm or a refund"

    return probe


def probes(settings: Settings, psp_url: str | None) -> dict[str, Probe]:
    found: dict[str, Probe] = {EXPIRIES: expiries_probe(settings)}
    if psp_url:
        found[WEBHOOKS] = webhooks_probe(psp_url)
    if table_exists(settings, "payments"):
        found[PAYMENTS] = payments_probe(settings)
    if table_exists(settings, "outbox"):
        found[OUTBOX] = outbox_probe(settings)
        if table_exists(settings, "received_events"):
            found[CONSUMER] = consumer_probe(settings)
    return found


def quiesce(
    settings: Settings,
    psp_url: str | None,
    timeout_s: float,
    *,
    on_wait: Callable[[dict[str, str]], None] | None = None,
) -> Quiesced:
    began = time.monotonic()
    pending = probes(settings, psp_url)
    reasons: dict[str, str] = {}
    while True:
        reasons = {}
        for name, probe in pending.items():
            try:
                reason = probe()
            except Exception as exc:
                reason = f"could not tell: {type(exc).__name__}: {exc}"
            if reason is not None:
                reasons[name] = reason
        if not reasons or time.monotonic() - began >= timeout_s:
            break
        if on_wait is not None:
            on_wait(reasons)
        time.sleep(POLL_INTERVAL_S)
    return Quiesced(Settlement(reasons), time.monotonic() - began)
