"""The service's layers, and the lab's, import only what DESIGN.md lets them."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.imports import absolute_imports as imports
from tests.support.imports import lab_imports
from tests.support.paths import ROOT

SERVICE = ROOT / "service"
LAB = ("scenarios", "profiling", "reports", "dashboards", "tests")
STDLIB = sys.stdlib_module_names


def offenders(folder: Path, allowed: tuple[str, ...]) -> list[str]:
    """Imports under ``folder`` that are neither standard library nor in ``allowed``."""
    return [
        f"{file}: {name}"
        for file, name in imports(folder)
        if name.split(".")[0] not in STDLIB
        and not any(name == ok or name.startswith(ok + ".") for ok in allowed)
    ]


def test_the_domain_imports_only_the_standard_library_and_itself() -> None:
    assert offenders(SERVICE / "domain", ("service.domain",)) == []


def test_use_cases_import_only_the_domain_the_ports_and_each_other() -> None:
    allowed = ("service.domain", "service.ports", "service.read_ports", "service.usecases")
    assert offenders(SERVICE / "usecases", allowed) == []


def test_ports_import_only_the_domain() -> None:
    assert offenders(SERVICE / "ports.py", ("service.domain",)) == []
    # The read side's ports may name the unit of work their reads open, and nothing else.
    read_side = ("service.domain", "service.ports")
    assert offenders(SERVICE / "read_ports.py", read_side) == []


def test_adapters_import_neither_the_web_layer_nor_use_cases_nor_jobs() -> None:
    forbidden = ("service.http", "service.usecases", "service.jobs", "service.bootstrap")
    found = [
        f"{file}: {name}"
        for file, name in imports(SERVICE / "adapters")
        if any(name == bad or name.startswith(bad + ".") for bad in forbidden)
    ]
    assert found == []


def test_nothing_below_the_web_layer_imports_it() -> None:
    below = ("adapters", "domain", "usecases", "jobs")
    found = [
        f"{file}: {name}"
        for layer in below
        for file, name in imports(SERVICE / layer)
        if name == "service.http" or name.startswith("service.http.")
    ]
    found += [
        f"{file}: {name}"
        for file, name in imports(SERVICE / "bootstrap.py")
        if name.startswith("service.http")
    ]
    assert found == []


def test_the_service_and_the_providers_import_nothing_of_the_lab() -> None:
    assert lab_imports(ROOT / "service", LAB) + lab_imports(ROOT / "providers", LAB) == []
