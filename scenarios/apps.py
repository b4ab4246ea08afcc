"""The applications of a run: the booking service's workers and both providers.

They are children of the runner, recorded in the lab's pid files like the servers, so a
killed run's leftovers are found and stopped by the next run or by ``ticketlab down``.
Each is waited for on its readiness URL; all are stopped on success, error or Ctrl-C.
"""

from __future__ import annotations

import json
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.stack import processes
from scenarios.stack.errors import StackError
from scenarios.stack.net import LOOPBACK, choose_port, wait_for
from scenarios.stack.paths import LabPaths
from service.config import Settings
from service.metrics_dir import make_metrics_dir

IDP, PSP, SERVICE = "app-idp", "app-psp", "app-service"
APP_PARTS = (SERVICE, PSP, IDP)  # stop order: the service first, its providers last
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
WEBHOOK_PATH = "/webhooks/psp"
# The provider keeps idle connections open for an hour, as providers behind long-lived
# load balancers do; with aiohttp's default 75 s it would close, after 75 s, every
# connection the service's fd-leak defect abandons, and the leak would level off.
PSP_KEEPALIVE_S = 3600.0


@dataclass(frozen=True)
class AppPorts:
    service: int
    idp: int
    psp: int

    @classmethod
    def choose(cls) -> AppPorts:
        taken: set[int] = set()
        ports = []
        for _ in range(3):
            port = choose_port((), taken)
            taken.add(port)
            ports.append(port)
        return cls(*ports)

    def url(self, port: int) -> str:
        return f"http://{LOOPBACK}:{port}"

    @property
    def service_url(self) -> str:
        return self.url(self.service)

    @property
    def idp_url(self) -> str:
        return self.url(self.idp)

    @property
    def psp_url(self) -> str:
        return self.url(self.psp)


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``TICKETLAB_*`` environment that rebuilds ``settings`` in a child process."""
    env = {}
    for name, value in vars(settings).items():
        if isinstance(value, frozenset):
            value = ",".join(sorted(value))
        env["TICKETLAB_" + name.upper()] = str(value)
    return env


PSP_CHECKOUT_TTL_S = 600.0  # the provider's own default


def checkout_ttl_s(settings: Settings) -> float:
    """How long the lab's provider keeps a checkout nobody confirmed (READY) before it
    expires it: twice the hold TTL, at most the provider's default. A worker killed between
    checkout and confirm leaves such a payment; the reconciler settles it only once the
    provider says EXPIRED, and a lab run with 6 s holds cannot wait ten minutes for that."""
    return min(PSP_CHECKOUT_TTL_S, max(5.0, 2 * settings.hold_ttl_s))


@dataclass
class Apps:
    """The three application processes of one variant."""

    paths: LabPaths
    ports: AppPorts
    settings: Settings
    workers: int = 1
    psp_time_scale: float = 0.001
    seed: int = 0
    records: dict[str, processes.PidRecord] = field(default_factory=dict)
    # The service's Prometheus multiprocess directory: one file per worker and kind of
    # metric, which the lab's sampler reads worker by worker (profiling/gauges.py).
    metrics_dir: Path | None = None
    service_env: Mapping[str, str] = field(default_factory=dict)  # extra, e.g. a profiler's

    def start(self, base_env: Mapping[str, str]) -> None:
        python = sys.executable
        env = {**base_env, **settings_env(self.settings)}
        self.metrics_dir = make_metrics_dir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        self._spawn(
            IDP,
            [
                python,
                "-m",
                "providers.idp",
                "--port",
                str(self.ports.idp),
                "--issuer",
                self.ports.idp_url,
                "--client",
                f"{self.settings.oidc_client_id}:{self.settings.oidc_client_secret}:"
                f"{self.ports.service_url}/",
            ],
            env,
        )
        self._spawn(
            PSP,
            [
                python,
                "-m",
                "providers.psp",
                "--port",
                str(self.ports.psp),
                "--webhook-url",
                self.ports.service_url + WEBHOOK_PATH,
                "--secret-key",
                self.settings.psp_secret_key,
                "--time-scale",
                str(self.psp_time_scale),
                "--seed",
                str(self.seed),
                "--checkout-ttl",
                str(checkout_ttl_s(self.settings)),
                "--keepalive-s",
                str(PSP_KEEPALIVE_S),
            ],
            env,
        )
        self._spawn(
            SERVICE,
            [
                python,
                "-m",
                "service",
                "--port",
                str(self.ports.service),
                "--workers",
                str(self.workers),
            ],
            {**env, **self.service_env},
        )
        for part, url in (
            (IDP, self.ports.idp_url + "/readyz"),
            (PSP, self.ports.psp_url + "/readyz"),
            (SERVICE, self.ports.service_url + "/readyz"),
        ):
            self._wait_ready(part, url)

    def _spawn(self, part: str, argv: list[str], env: Mapping[str, str]) -> None:
        processes.stop_part(self.paths, part, term_timeout=STOP_TIMEOUT_S)
        self.paths.log_file(part).unlink(missing_ok=True)
        self.records[part] = processes.spawn(self.paths, part, argv, env=env)

    def _wait_ready(self, part: str, url: str) -> None:
        record = self.records[part]

        def failed() -> str | None:
            if record.is_running():
                return None
            return "exited before it was ready:\n" + processes.log_tail(self.paths.log_file(part))

        wait_for(
            lambda: ready(url),
            timeout=READY_TIMEOUT_S,
            what=f"{part} at {url}",
            interval=0.1,
            failed=failed,
        )

    @property
    def service_pid(self) -> int | None:
        record = self.records.get(SERVICE)
        return record.pid if record else None

    def pids(self) -> dict[str, int]:
        return {part.removeprefix("app-"): r.pid for part, r in self.records.items()}

    def stop(self) -> None:
        problems = []
        for part in APP_PARTS:
            try:
                processes.stop_part(self.paths, part, term_timeout=STOP_TIMEOUT_S)
            except OSError as exc:
                problems.append(f"{part}: {exc}")
        if self.metrics_dir is not None:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
        if problems:
            raise StackError("could not stop " + "; ".join(problems))

    def collect_logs(self, into: Path) -> None:
        into.mkdir(parents=True, exist_ok=True)
        for part in APP_PARTS:
            log = self.paths.log_file(part)
            if log.exists():
                shutil.copyfile(log, into / f"{part.removeprefix('app-')}.log")


def ready(url: str) -> bool | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return True if answer.status == 200 else None
    except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
        return None


def stop_leftovers(paths: LabPaths) -> list[str]:
    """Application processes a killed run left behind; stopped, and named for the user."""
    return [part for part in APP_PARTS if processes.stop_part(paths, part)]
