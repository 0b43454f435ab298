"""channels-redis's pub/sub channel layer, made to survive a Redis restart, to send many group
messages in one round trip, and to hand a group message straight to the consumers that can take it.

The service's channel layer (``realtime.layers.RedisPubSubChannelLayer``, CHANNEL_LAYERS' BACKEND)
is this one; it lives here because channels-redis documents its configuration only, so each of
its hooks below reaches past the documented API.

channels-redis keeps one pub/sub connection per process. If Redis restarts while that connection
is idle (no subscriptions, so nothing reads from it), the connection is dead but not yet known to
be, and the next SUBSCRIBE or PUBLISH on it fails once — which would fail the handshake of the
first client to connect after the outage. redis-py drops a connection that failed, so another
try reconnects (and re-subscribes what the process still listens to). That reconnect can meet
channels-redis's receive task reconnecting the same connection (redis-py has no lock around a
reconnect): asyncio refuses the second reader with a RuntimeError, and the try after it starts
from a fresh connection. Why pub/sub at all: docs/channel-layer.md.

Two additions for throughput (docs/channel-layer.md): ``group_send_many`` pipelines many group
sends into one round trip per shard, and direct delivery lets a consumer attach a synchronous
handler to its channel (``attach_direct``): a group message is then decoded once and offered to
each member's handler, which takes it at once when it can (nothing queued or under way before
it) or declines it, and a declined message goes to the member's queue as before.

What each private use buys (docs/frameworks.md, rows 20-22, 24 and 25):

- ``RedisSingleShardConnection._receive_message`` overridden, its group branch copied, reading
  the loop layer's ``channels``, ``groups`` and ``channel_layer`` (``_RetryingShard``): direct
  delivery. bench/README.md, broadcast (``./bench/run --scenarios broadcast --rates 5``): ~51-59
  → ~32 µs of daphne CPU per delivery; p99 at 10 broadcast events/s 87-234 ms before, 55 ms
  after (bench/results/2026-11-28-direct-delivery.md).
- The shard's ``_lock``, ``_redis``, ``_ensure_redis`` and a copy of its ``publish`` as a
  pipeline (``_RetryingShard._publish_pipelined``, for ``group_send_many``), with the loop
  layer's ``_get_shard`` and ``_get_group_channel_name`` to batch per shard: the publisher keeps
  up. docs/reliability.md, "50 clients stop reading": the healthy client's p50/p99 was 5065/9419
  ms alone and 8687/13258 ms beside the 50 before, 177/484 and 215/675 ms after (printed by
  ``.venv/bin/pytest -s tests/gleepost/test_server_slow_clients.py`` on PostgreSQL + Redis).
- ``RedisPubSubLoopLayer._shards`` replaced by shards whose ``publish``, ``subscribe`` and
  ``unsubscribe`` try again (``_retrying``, up to 3 tries; ``_fresh_pubsub_connection`` drops
  ``_pubsub``'s connection), with ``_ensure_receiver`` started in an empty context: the first
  handshake after a Redis restart does not fail (with one retry and no fresh connection, 1
  handshake in 12 after a restart failed with HTTP 500), and the receive task's log lines carry
  no connection's id. A correctness bound, no benchmark figure.
- A copy of ``RedisPubSubChannelLayer._get_layer`` (its ``_layers``, ``_args``, ``_kwargs``, and
  ``channels_redis.utils._wrap_close``): builds ``_LoopLayer``, on which the others depend; no
  figure of its own.

Relies on: channels-redis 4.3.0; tests/gleepost/extensions/test_channels_redis_contract.py names
each private attribute and compares each copied method with a digest of its source, so that an
upgrade fails there.
Retired by: a bulk send in the channel layer API (django/channels_redis#399, open; its draft
django/channels_redis#400 covers the core layer only, not pub/sub) for the pipeline; and, with no
upstream issue filed yet, channels-redis's pub/sub layer retrying an operation whose connection
failed, and a per-channel callback its reader offers a group message to before queueing it
(direct delivery).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from channels_redis import pubsub
from channels_redis.utils import _wrap_close
from redis import exceptions as redis_errors

from gleepost import log_context
from realtime import metrics

_CONNECTION_ERRORS = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
# asyncio's refusal of a second coroutine reading one connection: this operation and the receive
# task both reconnecting the pub/sub connection after a Redis restart (module docstring).
_RECONNECTING_TWICE = RuntimeError
# Tries of one shard operation whose connection fails, and the pause before the n-th retry
# (n times this): the receive task's reconnect is over within milliseconds.
_ATTEMPTS = 3
_RETRY_PAUSE_SECS = 0.05

# The name the channel layer's lines have always had (realtime.layers is where settings name it).
logger = logging.getLogger("realtime.layers")

# Takes a decoded channel-layer message now (True) or declines it (False: it is queued).
DirectHandler = Callable[[dict[str, Any]], bool]


async def _retrying(
    operation: Callable[..., Awaitable[Any]],
    *args: Any,
    reset: Callable[[], Awaitable[None]] | None = None,
) -> Any:
    """``operation(*args)``, tried again (at most ``_ATTEMPTS`` in all) when its connection
    fails; ``reset`` is awaited first when the failure was a reconnect met by another."""
    for attempt in range(1, _ATTEMPTS):
        try:
            return await operation(*args)
        except (*_CONNECTION_ERRORS, _RECONNECTING_TWICE) as error:
            logger.info("redis failed (%s: %s); trying again", type(error).__name__, error)
            if reset is not None and isinstance(error, _RECONNECTING_TWICE):
                await reset()
            await asyncio.sleep(_RETRY_PAUSE_SECS * attempt)
    return await operation(*args)


class _RetryingShard(pubsub.RedisSingleShardConnection):
    def _receive_message(self, message: Any) -> None:
        layer = self.channel_layer
        if message is None or not layer.direct:
            super()._receive_message(message)
            return
        name = message["channel"]
        if isinstance(name, bytes):
            name = name.decode()
        members = layer.groups.get(name)
        if members is None:
            super()._receive_message(message)
            return
        data = message["data"]
        decoded: dict[str, Any] | None = None
        for channel in tuple(members):
            queue = layer.channels.get(channel)
            if queue is None:
                continue
            handler = layer.direct.get(channel)
            if handler is not None and queue.empty():
                if decoded is None:
                    decoded = layer.channel_layer.deserialize(data)
                try:
                    if handler(decoded):
                        continue
                except Exception:
                    # One consumer's failure must not stop the others' delivery.
                    metrics.count_error("direct_delivery")
                    logger.exception("direct delivery failed; queueing instead")
            queue.put_nowait(data)

    async def publish(self, channel: str, message: bytes) -> None:
        await _retrying(super().publish, channel, message)

    async def subscribe(self, channel: str) -> None:
        # channels-redis starts its receive task on the first subscribe, in the subscriber's
        # context; the task serves every connection of the process.
        log_context.run_unbound(self._ensure_receiver)
        await _retrying(super().subscribe, channel, reset=self._fresh_pubsub_connection)

    async def unsubscribe(self, channel: str) -> None:
        await _retrying(super().unsubscribe, channel, reset=self._fresh_pubsub_connection)

    async def _fresh_pubsub_connection(self) -> None:
        """Drop the pub/sub connection two reconnects have shared: the next command opens a
        new one and re-subscribes the channels redis-py's PubSub holds."""
        connection = self._pubsub.connection if self._pubsub is not None else None
        if connection is not None:
            await connection.disconnect()

    async def publish_many(self, messages: list[tuple[str, bytes]]) -> None:
        """PUBLISH each (channel, message) in order, all in one round trip to Redis."""
        await _retrying(self._publish_pipelined, messages)

    async def _publish_pipelined(self, messages: list[tuple[str, bytes]]) -> None:
        # channels-redis is untyped: its attributes are Any here.
        async with self._lock:
            self._ensure_redis()
            # No MULTI/EXEC: the messages are independent; only their order matters, and
            # one connection executes a pipeline's commands in order.
            pipeline = self._redis.pipeline(transaction=False)
            for channel, message in messages:
                pipeline.publish(channel, message)
            await pipeline.execute()


class _LoopLayer(pubsub.RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shards = self._shards  # type: ignore[has-type]  # untyped in channels-redis
        self._shards = [_RetryingShard(shard.host, self) for shard in shards]
        self.direct: dict[str, DirectHandler] = {}

    async def group_send_many(self, sends: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """``group_send`` each (group, message), one pipelined round trip per Redis shard.

        A group always hashes to the same shard and a pipeline keeps its order, so each
        group receives its messages in the order given.
        """
        by_shard: dict[_RetryingShard, list[tuple[str, bytes]]] = {}
        for group, message in sends:
            channel = self._get_group_channel_name(group)
            shard = self._get_shard(channel)
            serialized = self.channel_layer.serialize(message)
            by_shard.setdefault(shard, []).append((channel, serialized))
        await asyncio.gather(*(shard.publish_many(batch) for shard, batch in by_shard.items()))


class RedisPubSubChannelLayer(pubsub.RedisPubSubChannelLayer):
    """``channels_redis.pubsub.RedisPubSubChannelLayer`` whose connections try again after a
    Redis restart, and which can send to many groups in one round trip (``group_send_many``)."""

    async def group_send_many(self, sends: Iterable[tuple[str, dict[str, Any]]]) -> None:
        await self._get_layer().group_send_many(sends)

    def attach_direct(self, channel: str, handler: DirectHandler) -> None:
        """Offer ``channel``'s group messages to ``handler`` before queueing them (see above).
        Call on the loop that receives the channel."""
        self._get_layer().direct[channel] = handler

    def detach_direct(self, channel: str) -> None:
        self._get_layer().direct.pop(channel, None)

    def _get_layer(self) -> _LoopLayer:
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
