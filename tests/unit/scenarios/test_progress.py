"""The terminal's request and 5xx rates come from the service's own counters."""

import io

from rich.console import Console

from scenarios.progress import Progress, Rates

REQUESTS = "ticketlab_http_requests_total"


def scrape(ok: float, errors: float) -> dict[str, float]:
    return {
        f'{REQUESTS}{{method="GET",route="/x",status="200"}}': ok,
        f'{REQUESTS}{{method="POST",route="/y",status="503"}}': errors,
    }


def test_rates_are_the_counter_deltas_per_second() -> None:
    rates = Rates()
    rates.update(100.0, scrape(10, 1))
    rates.update(102.0, scrape(50, 5))
    assert (rates.requests_per_s, rates.errors_per_s) == (22.0, 2.0)


def test_a_new_variant_starts_its_rates_afresh() -> None:
    progress = Progress("s", console=Console(file=io.StringIO()))
    progress.enter("load", variant="a")
    progress.metrics({"t": 1.0, "samples": scrape(100, 50)})
    progress.enter("load", variant="b")
    progress.metrics({"t": 2.0, "samples": scrape(3, 0)})
    assert progress.rates.errors == 0 and progress.rates.errors_per_s == 0
