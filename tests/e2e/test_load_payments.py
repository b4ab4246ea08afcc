"""Buyers who pay: payment details, the provider's checkout, confirm — against real servers.

Pending issue 3's integration: needs ``POST /api/v1/reservations/{id}/payment`` and
``POST /api/v1/payments/confirm`` routed in the service.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from scenarios.apps import settings_env
from scenarios.history import History, Outcome
from scenarios.load.process import headless_argv, start_locust
from scenarios.load.workload import parse_workload, write_workload
from service.config import Settings
from tests.support.processes import free_port, running

pytestmark = pytest.mark.slow
LOCUST_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def urls(
    settings: Settings, idp_url: str, concert_id: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(service URL, provider URL): the provider's webhooks go to the service."""
    logs = tmp_path_factory.mktemp("apps")
    service_port, psp_port = free_port(), free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    psp_url = f"http://127.0.0.1:{psp_port}"
    psp_args = ["-m", "providers.psp", "--port", str(psp_port)]
    psp_args += ["--webhook-url", f"{service_url}/webhooks/psp"]
    env = settings_env(
        dataclasses.replace(settings, oidc_issuer=idp_url, public_url=service_url, psp_url=psp_url)
    )
    with (
        running(psp_args, f"{psp_url}/readyz", logs / "psp.log"),
        running(
            ["-m", "service", "--port", str(service_port)],
            f"{service_url}/readyz",
            logs / "service.log",
            env=env,
        ),
    ):
        yield service_url, psp_url


def test_buyers_who_pay_check_out_and_confirm_with_the_service_amount(
    urls: tuple[str, str], concert_id: int, tmp_path: Path
) -> None:
    service_url, _ = urls
    workload = parse_workload(
        {
            "service_url": service_url,
            "operations_path": str(tmp_path / "operations.jsonl"),
            "login_hint": f"{tmp_path.name}-{{n}}@lab.test",
            "concert_ids": [concert_id],
            "think_time_s": [0, 0.05],
            "pay": True,
            "shape": {"kind": "constant", "users": 4, "spawn_rate": 4, "duration_s": 4},
        }
    )
    path = write_workload(workload, tmp_path / "workload.json")
    log = tmp_path / "locust.log"
    process = start_locust(headless_argv(workload, path), log)
    try:
        assert process.wait(LOCUST_TIMEOUT_S) == 0, log.read_text()
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    ops = History.from_jsonl(workload.operations_path.read_text()).operations
    outcomes = Counter((op.name, op.outcome) for op in ops)
    assert outcomes[("confirm", Outcome.OK)] > 0, outcomes
    for op in ops:
        if op.name in ("payment", "checkout", "confirm") and op.outcome is Outcome.OK:
            assert op.reservation_id and op.order_id, op
    paid = {op.order_id for op in ops if op.name == "confirm" and op.outcome is Outcome.OK}
    reserved = {op.order_id for op in ops if op.name == "reserve" and op.outcome is Outcome.OK}
    assert paid <= reserved
