"""``up --app`` and ``nox -s locust`` start the apps with the shell's settings: only the
servers' and apps' URLs are the lab's to choose (``TICKETLAB_KEY_PREFIX`` is not replaced)."""

from __future__ import annotations

from pathlib import Path

from scenarios.apps import AppPorts
from scenarios.interactive import DEFAULT_KEY_PREFIX, app_settings
from scenarios.stack import StackInfo


def test_the_apps_take_the_shells_settings_and_key_prefix() -> None:
    info = StackInfo(
        lab_dir=Path("/tmp/lab"),
        db_url="mysql://u:p@127.0.0.1:1/ticketlab",
        replica_url="mysql://u:p@127.0.0.1:2/ticketlab",
        db_admin_url="mysql://root@127.0.0.1:1/ticketlab",
        redis_url="redis://127.0.0.1:3/0",
        amqp_url="amqp://g:g@127.0.0.1:4/v",
        parts={},
    )
    ports = AppPorts(5, 6, 7)
    environ = {"TICKETLAB_KEY_PREFIX": "mine", "TICKETLAB_CLAIM_STRATEGY": "naive"}
    settings = app_settings(info, ports, environ)
    assert (settings.key_prefix, settings.claim_strategy) == ("mine", "naive")
    assert (settings.redis_url, settings.psp_url) == (info.redis_url, ports.psp_url)
    assert app_settings(info, ports, {}).key_prefix == DEFAULT_KEY_PREFIX
