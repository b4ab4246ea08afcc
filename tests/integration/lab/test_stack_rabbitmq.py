"""When no broker answers at ``TICKETLAB_AMQP_URL``, the lab starts a RabbitMQ node of its own.

The node gets its own name, port and config (the machine's broker keeps running beside
it), is usable through the printed URL, and ``down`` stops it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aio_pika
import pytest

from scenarios.stack import Stack, processes
from scenarios.stack.binaries import find_binary
from scenarios.stack.info import RABBITMQ
from scenarios.stack.net import ephemeral_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(find_binary("rabbitmq-server") is None, reason="needs rabbitmq-server"),
]


async def declare_a_queue(url: str) -> str:
    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue("lab-probe", auto_delete=True)
        return queue.name


def test_the_lab_starts_and_stops_its_own_broker(tmp_path: Path) -> None:
    port = ephemeral_port()
    stack = Stack(
        tmp_path / "lab", environ={"TICKETLAB_AMQP_URL": f"amqp://guest:guest@127.0.0.1:{port}/"}
    )
    try:
        info = stack.up()
        assert RABBITMQ in info.started and info.parts[RABBITMQ].owned
        assert asyncio.run(declare_a_queue(info.amqp_url)) == "lab-probe"
        pid = info.parts[RABBITMQ].pid
        assert pid is not None
    finally:
        stopped = stack.down(purge=True)
    assert RABBITMQ in stopped
    assert processes.wait_gone(pid, 10.0)
