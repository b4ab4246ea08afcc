"""RabbitMQ vhosts a test module leaves behind: none, checked by listing them around it.

Only this test process's vhosts count (their names start with ``VHOST_PREFIX``): other
engineers' test runs share the broker and come and go meanwhile. Listing costs a
``rabbitmqctl`` call (about a second), so modules that make vhosts opt in::

    pytestmark = pytest.mark.usefixtures("no_vhost_left_behind")
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.isolation import VHOST_PREFIX, rabbitmqctl


def our_vhosts() -> set[str]:
    return {v for v in rabbitmqctl("-s", "list_vhosts").splitlines() if v.startswith(VHOST_PREFIX)}


@pytest.fixture(scope="module")
def no_vhost_left_behind() -> Iterator[None]:
    before = our_vhosts()
    yield
    left = sorted(our_vhosts() - before)
    assert left == [], f"the module left RabbitMQ vhosts behind: {left}"
