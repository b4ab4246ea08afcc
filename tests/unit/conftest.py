"""The unit tier runs with no MariaDB, Redis or RabbitMQ: asking for one is a mistake here.

Hypothesis profiles keep property-based tests bounded: ``unit`` (the default) for the
tier's few seconds, ``mutate`` for ``nox -s mutate`` (derandomized, so a mutant is killed
or not the same way every run; no example database, no shrinking), ``thorough`` for a long hunt
(``HYPOTHESIS_PROFILE=thorough pytest tests/unit -k properties``).
"""

from __future__ import annotations

import os

import pytest
from hypothesis import Phase, settings

settings.register_profile("unit", max_examples=60, deadline=None)
settings.register_profile(
    "mutate",
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # a kill needs the failure, not its shrinking
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "unit"))


@pytest.fixture(scope="module")
def isolation() -> None:
    pytest.fail("a unit test asked for a real server; it belongs in tests/integration")
