"""The channel layer: channels-redis's pub/sub layer, made to survive a Redis restart.

channels-redis keeps one pub/sub connection per process. If Redis restarts while that connection
is idle (no subscriptions, so nothing reads from it), the connection is dead but not yet known to
be, and the next SUBSCRIBE or PUBLISH on it fails once — which would fail the handshake of the
first client to connect after the outage. redis-py drops a connection that failed, so one more
try reconnects (and re-subscribes what the process still listens to). Why pub/sub at all:
docs/channel-layer.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from channels_redis import pubsub
from channels_redis.utils import _wrap_close
from redis import exceptions as redis_errors

_CONNECTION_ERRORS = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


async def _retry_once(operation: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    try:
        return await operation(*args)
    except _CONNECTION_ERRORS:
        return await operation(*args)


class _RetryingShard(pubsub.RedisSingleShardConnection):
    async def publish(self, channel: str, message: bytes) -> None:
        await _retry_once(super().publish, channel, message)

    async def subscribe(self, channel: str) -> None:
        await _retry_once(super().subscribe, channel)

    async def unsubscribe(self, channel: str) -> None:
        await _retry_once(super().unsubscribe, channel)


class _LoopLayer(pubsub.RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shards = self._shards  # type: ignore[has-type]  # untyped in channels-redis
        self._shards = [_RetryingShard(shard.host, self) for shard in shards]


class RedisPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    """``channels_redis.pubsub.RedisPubSubChannelLayer`` whose connections retry once."""

    def _get_layer(self) -> _LoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
