"""Scraping the service's ``/metrics`` each second into ``metrics.jsonl``.

The service runs Prometheus in multiprocess mode, so one scrape of its port covers every
worker. Each line is ``{"t", "target", "samples": {"name{label=\"v\"}": value}}``; a failed
scrape is a line with ``"error"`` instead, so gaps in a chart have a reason. After the
load generator's last answer, one more scrape (``scrape_final``, marked ``"final": true``)
closes the series, so the server-side totals cover every request the client counted.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

SCRAPE_TIMEOUT_S = 2.0


def parse_metrics(text: str) -> dict[str, float]:
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def total(samples: dict[str, float], name: str, where: Callable[[str], bool] = bool) -> float:
    """Sum of a metric's samples whose label text passes ``where`` (all, by default)."""
    out = 0.0
    for key, value in samples.items():
        base, _, labels = key.partition("{")
        if base == name and (not labels or where(labels)):
            out += value
    return out


async def scrape_once(session: aiohttp.ClientSession, target: str) -> dict[str, Any]:
    record: dict[str, Any] = {"t": time.time(), "target": target}
    try:
        timeout = aiohttp.ClientTimeout(total=SCRAPE_TIMEOUT_S)
        async with session.get(f"{target}/metrics", timeout=timeout) as answer:
            record["samples"] = parse_metrics(await answer.text())
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
    return record


async def scrape_forever(
    target: str,
    out: Path,
    *,
    interval_s: float = 1.0,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Until cancelled; each record is appended as soon as it is taken."""
    async with aiohttp.ClientSession() as session:
        with out.open("a") as lines:
            while True:
                started = time.monotonic()
                record = await scrape_once(session, target)
                lines.write(json.dumps(record, sort_keys=True) + "\n")
                lines.flush()
                if on_record is not None:
                    on_record(record)
                await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))


async def scrape_final(target: str, out: Path) -> dict[str, Any]:
    """One last scrape, appended and returned: the service's totals after the load."""
    async with aiohttp.ClientSession() as session:
        record = await scrape_once(session, target)
    record["final"] = True
    with out.open("a") as lines:
        lines.write(json.dumps(record, sort_keys=True) + "\n")
    return record
