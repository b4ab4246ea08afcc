"""The run directory: everything a report needs, and nothing outside it is needed.

This module is the format's definition; the runner writes through it and ``reports/``
reads the files it describes (without importing this module). Format version 2:

    runs/<YYYYmmdd-HHMMSS>-<scenario>/
      manifest.json            the run as a whole (below)
      report.html              the self-contained report (reports/)
      variants/<variant>/
        settings.json          the service settings of this variant (TICKETLAB_* → value;
                               Settings.public(): secrets ***, URLs without passwords)
        workload.json          what Locust was given (scenarios/load/workload.py)
        operations.jsonl       one history record per line (scenarios/history.py): every
                               client operation and every fault, with intended/actual start,
                               end, outcome ok|fail|unknown|cut-off, status, problem type,
                               ids, and the HTTP requests a sign-in sent
        stats.csv              the measured operations per second and operation: second,
                               operation, count, ok, refused, errors, unknown, cut_off,
                               p50_ms, p95_ms, p99_ms (`second` counts from load_start)
        summary.json           the figures of scenarios/summary.py, whose docstring defines
                               each one. window {basis, load_start (first request sent),
                               load_end (last answer received), warmup_s, warmup_end,
                               seconds}: every count and rate below is over it.
                               operations {name: {count, ok, refused, errors, unknown,
                               cut_off, error_rate, throughput_per_s, requests_per_s,
                               requests_completed, p50_ms, p95_ms, p99_ms, error_kinds
                               {kind: {count, sample}}}}, all {the same, every operation};
                               requests_per_s, throughput_per_s, cut_off;
                               holds_granted, holds_refused_taken_or_limit (409),
                               holds_refused_contention (503); seats_held_twice (two holds
                               at once, never sold twice), seats_sold_twice (two confirmed
                               sales); locust {requests, failures, requests_per_s, seconds,
                               stopping_at, source} (Locust's own closing figures, same
                               window definition: scenarios/locust_stats.py); routes [{route,
                               client_answered, client_in_flight, server, difference,
                               mismatch}] over the whole load (warm-up included: the
                               service's counters cannot leave it out), from the final
                               scrape; machine {cores, cpu_percent_mean, cpu_percent_peak,
                               saturated_share, steal_percent_peak, load_average_peak,
                               other_cpu_cores_mean, samples} over the window;
                               generator_bottleneck (bool: Locust CPU-bound or the machine
                               saturated) with generator_evidence, generator_cpu_busy_share
                               (share of samples with Locust at ≥90% of a core) and
                               generator_cpu_peak_percent (% of one core);
                               sampler {ticks, cpu_s, cpu_ms_per_tick, wall_ms_per_tick,
                               core_share}: what the resource sampler itself cost;
                               quiesce_s, unsettled, nemesis_errors, claim_strategy,
                               companion_errors (when a companion failed);
                               load_cut_short {ran_s, planned_s, reason} (only when Locust
                               ended more than max(5 s, 10 %) before the shape's planned
                               duration; reason: Locust's own log lines, e.g. "The last
                               worker went missing, stopping test."; the check
                               load-ran-to-plan is then unknown)
        locust_stats.csv …     Locust's own statistics (--csv: also _stats_history, _failures,
                               _exceptions), rewritten each second while it runs, so up
                               to a second stale at its end
        locust_final.json      Locust's closing figures (what its summary prints): requests,
                               failures, requests_per_s, start, last_answer, seconds,
                               stopping_at (when the generator began stopping), written_at
        metrics.jsonl          the service's /metrics, scraped each second from every
                               worker, and once more after Locust's last answer: {"t": unix
                               seconds, "target": url, "samples": {"name{label=\"v\",…}":
                               value}, "final": true on the last}
        resources.csv          t, role (locust|service|psp|idp|mariadb|redis|…), pid,
                               cpu_percent (empty on a process's first, priming sample),
                               rss_bytes, fds, threads
        workers.csv            the detailed sample of the service's processes and the
                               providers, each second (profiling/workers.py): t, role, pid,
                               kind (worker|supervisor|process), cpu_percent, rss_bytes,
                               uss_bytes, fds, threads, sockets_established,
                               sockets_close_wait, sockets_time_wait (always 0: the kernel
                               owns them), sockets_other (LISTEN …), and a worker's own
                               pool_size, pool_in_use, pool_waiting, pool_max, loop_lag_s,
                               gc_gen0..2 (collections), requests (served, cumulative),
                               read from its Prometheus multiprocess files
        leaks.json             {resources, window {start, end}, verdicts [{pid, role,
                               resource, verdict LEAK|NO LEAK|INCONCLUSIVE, rule, material,
                               points, t_start, t_end, slope_per_s, intercept (at t_start),
                               per_minute(_low|_high), per_1k_requests, per_1k_low|high,
                               growth, late_per_minute(_low|_high)}]} (profiling/leaks.py);
                               memray adds allocations [{site, bytes, allocations}] when
                               it ran: the top allocation sites still alive at the end
        knee.json              step loads only (scenarios/knee.py): {steps [{users, start,
                               end, throughput, throughput_se, p95_ms, evidence
                               {pool_waiting, pool_in_use_share, lock_waits_per_s,
                               lock_waiting_trx, loop_lag_s, cpu_service_max, cpu_mariadb,
                               cpu_locust, cpu_machine}}], noise_z, knee {users, throughput,
                               p95_ms, reason, saturated_first, attribution, saturated_at}}
        machine.csv            t, cpu_percent (all cores: 100 = every core busy), steal_percent,
                               iowait_percent, load_1m, cores — sampled with resources.csv
        lag.csv                replication lag, sampled every 0.2 s during the load
                               (scenarios/faults/heartbeat.py): t, heartbeat_lag_s (now −
                               the newest heartbeat the replica has, pt-heartbeat style;
                               empty when the replica could not be read),
                               seconds_behind_master (as the replica reports it; empty
                               for NULL), io_running, sql_running (Yes|No|Connecting)
        checks.json            {"verdict": pass|fail|unknown, "results": [CheckResult…]}
        logs/<process>.log     each child process's output
        profiles/              py-spy and memray outputs, when profiling was asked for
                               (--profile): profiles.json lists them (scenarios/profilers.py)

manifest.json:
    format_version, run_id, scenario {name, description, source}, status
    (running|completed|failed|interrupted), verdict (pass|fail|unknown), started_at,
    finished_at (ISO 8601 UTC), command (as typed), rerun_command, seed, overrides,
    variants [names, in run order], code {git_sha, dirty}, servers {mariadb, redis,
    rabbitmq: version strings}, machine {cores, cpu_model, memory_bytes, load_average
    [1, 5, 15 min] when the run started, platform, python}, error.

Changes from version 1 (issue 9, one name per quantity):
    - outcome ``cut-off`` for requests the generator's stop interrupted: out of errors,
      error rates, throughput and percentiles, counted apart; ``unknown`` no longer holds
      them. Op records may carry ``requests`` (a sign-in's HTTP requests).
    - the window is from the first request sent to the last answer received (it was
      Locust's start-up to its shutdown), stated in summary.json's ``window``; stats.csv
      and summary.json both leave the warm-up out (version 1's stats.csv and top-level
      ``requests`` kept it). The top-level ``duration_s``, ``load_start``,
      ``load_end`` and ``warmup_s`` moved into ``window``; ``requests`` is ``all.count``.
    - ``seats_oversold`` (held *or* sold twice) is gone: ``seats_held_twice`` and
      ``seats_sold_twice`` say which. ``holds_refused`` (409s only, while the service's
      counter also counts 503s) became ``holds_refused_taken_or_limit`` and
      ``holds_refused_contention``.
    - per operation: ``fail`` became ``refused`` (409) and ``errors`` (a count; the
      error breakdown is now ``error_kinds``), with ``cut_off`` and ``requests_per_s``.
    - stats.csv: ``requests``/``fail`` became ``count``/``refused``/``errors``/``cut_off``.
    - new: machine.csv, locust_stats.csv, summary ``locust``, ``routes``, ``machine``, the
      final scrape in metrics.jsonl; resources.csv leaves priming CPU readings empty.
    - added later within version 2 (readers need not know it): locust_final.json, and
      summary ``locust`` taken from it (``source: final``; ``csv`` when only the stale CSV
      was left).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT_VERSION = 2
RUNS_DIR = Path("runs")
STATS_COLUMNS = (
    "second",
    "operation",
    "count",
    "ok",
    "refused",
    "errors",
    "unknown",
    "cut_off",
    "p50_ms",
    "p95_ms",
    "p99_ms",
)
RESOURCE_COLUMNS = ("t", "role", "pid", "cpu_percent", "rss_bytes", "fds", "threads")
MACHINE_COLUMNS = ("t", "cpu_percent", "steal_percent", "iowait_percent", "load_1m", "cores")
LAG_COLUMNS = ("t", "heartbeat_lag_s", "seconds_behind_master", "io_running", "sql_running")
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class Manifest:
    """``manifest.json``, as described above: written when a run starts and again when it
    ends, so an interrupted run still says what it was."""

    run_id: str
    scenario: dict[str, Any]
    started_at: str
    command: str
    seed: int
    variants: list[str]
    code: dict[str, Any]
    machine: dict[str, Any]
    rerun_command: str = ""
    servers: dict[str, str] = field(default_factory=dict)
    status: str = "running"
    verdict: str = "unknown"
    finished_at: str | None = None
    error: str | None = None
    format_version: int = FORMAT_VERSION

    def finish(self, status: str, verdict: str, error: str | None) -> None:
        self.status, self.verdict, self.error = status, verdict, error
        self.finished_at = datetime.now(UTC).isoformat()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, run_dir: Path) -> None:
        write_json(run_dir / "manifest.json", self.to_dict())


def safe_name(name: str) -> str:
    """A scenario or variant name fit for a directory name."""
    cleaned = SAFE_NAME.sub("-", name).strip("-.")
    if not cleaned:
        raise ValueError(f"{name!r} has no characters usable in a directory name")
    return cleaned


def new_run_dir(scenario: str, root: Path = RUNS_DIR, now: datetime | None = None) -> Path:
    """``runs/<timestamp>-<scenario>/``, made unique if two runs start in the same second."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return unique_dir(root / f"{stamp}-{safe_name(scenario)}")


def unique_dir(base: Path) -> Path:
    """``base`` made, or ``base-2``, ``base-3``… if a run that started in the same second
    already took it."""
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def variant_dir(run_dir: Path, variant: str) -> Path:
    path = run_dir / "variants" / safe_name(variant)
    (path / "logs").mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, data: Any) -> None:
    """Written to a temporary name then renamed, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def append_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    with path.open("a") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True, default=str) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
