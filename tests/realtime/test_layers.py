"""The channel layer recovers from a Redis restart without failing the next operation."""

from __future__ import annotations

import asyncio

import pytest

from realtime.layers import RedisPubSubChannelLayer
from tests.servers import redis_server

pytestmark = [pytest.mark.slow, pytest.mark.asyncio]


async def test_first_operations_after_an_idle_restart_succeed() -> None:
    with redis_server() as redis:
        layer = RedisPubSubChannelLayer(hosts=[redis.url])
        channel = await layer.new_channel()
        await layer.group_add("before", channel)
        await layer.group_discard("before", channel)
        # Leave the process with no subscription, so nothing notices the restart.
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        redis.stop()
        redis.start()
        fresh = await layer.new_channel()
        await layer.group_add("after", fresh)
        await layer.group_send("after", {"type": "test.ping", "n": 1})
        assert await asyncio.wait_for(layer.receive(fresh), 3) == {"type": "test.ping", "n": 1}
        await layer.flush()
