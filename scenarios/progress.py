"""What the terminal shows during a run: phase, elapsed and remaining time, request rate
and errors. A live panel (rich) on a terminal; a plain line every few seconds otherwise,
so CI logs stay readable."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.table import Table

from scenarios.scrape import total

PLAIN_EVERY_S = 5.0


@dataclass
class Rates:
    """Request and error rates from consecutive scrapes of the service's counters."""

    last: tuple[float, float, float] | None = None
    requests_per_s: float = 0.0
    errors_per_s: float = 0.0
    requests: float = 0.0
    errors: float = 0.0

    def update(self, t: float, samples: dict[str, float]) -> None:
        requests = total(samples, "ticketlab_http_requests_total")
        errors = total(
            samples, "ticketlab_http_requests_total", lambda labels: 'status="5' in labels
        )
        if self.last is not None and t > self.last[0]:
            span = t - self.last[0]
            self.requests_per_s = max(0.0, requests - self.last[1]) / span
            self.errors_per_s = max(0.0, errors - self.last[2]) / span
        self.last = (t, requests, errors)
        self.requests, self.errors = requests, errors


@dataclass
class Progress:
    scenario: str
    console: Console = field(default_factory=lambda: Console(stderr=True))
    variant: str = "-"
    phase: str = "starting"
    phase_started: float = field(default_factory=time.monotonic)
    planned_s: float | None = None
    note: str = ""
    rates: Rates = field(default_factory=Rates)
    _live: Live | None = None
    _last_plain: float = 0.0

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=2)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def enter(
        self,
        phase: str,
        *,
        variant: str | None = None,
        planned_s: float | None = None,
        note: str = "",
    ) -> None:
        self.phase, self.phase_started, self.planned_s, self.note = (
            phase,
            time.monotonic(),
            planned_s,
            note,
        )
        if variant is not None and variant != self.variant:
            self.variant = variant
            self.rates = Rates()  # each variant has its own service and counters
        self.log(f"{self.variant}: {phase}" + (f" ({note})" if note else ""))
        self.refresh()

    def metrics(self, record: dict) -> None:
        if "samples" in record:
            self.rates.update(record["t"], record["samples"])
        self.refresh()

    def waiting(self, reasons: dict[str, str]) -> None:
        self.note = "; ".join(f"{k}: {v}" for k, v in reasons.items())
        self.refresh()

    def log(self, message: str) -> None:
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {message}", highlight=False)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self._render())
            return
        now = time.monotonic()
        if now - self._last_plain >= PLAIN_EVERY_S and self.phase == "load":
            self._last_plain = now
            elapsed, remaining = self._times()
            print(
                f"  {self.variant} load {elapsed:.0f}s{remaining}: "
                f"{self.rates.requests_per_s:.0f} req/s, {self.rates.errors_per_s:.1f} 5xx/s, "
                f"{self.rates.errors:.0f} 5xx in all",
                file=sys.stderr,
                flush=True,
            )

    def _times(self) -> tuple[float, str]:
        elapsed = time.monotonic() - self.phase_started
        if self.planned_s is None:
            return elapsed, ""
        return elapsed, f" / {self.planned_s:.0f}s, {max(0.0, self.planned_s - elapsed):.0f}s left"

    def _render(self) -> Table:
        elapsed, remaining = self._times()
        table = Table.grid(padding=(0, 2))
        table.add_row("[bold]scenario", self.scenario, "[bold]variant", self.variant)
        table.add_row("[bold]phase", self.phase, "[bold]time", f"{elapsed:.0f}s{remaining}")
        table.add_row(
            "[bold]requests",
            f"{self.rates.requests_per_s:.0f}/s ({self.rates.requests:.0f} in all)",
            "[bold]5xx",
            f"{self.rates.errors_per_s:.1f}/s ({self.rates.errors:.0f} in all)",
        )
        if self.note:
            table.add_row("[bold]note", self.note[:120], "", "")
        return table
