"""The channel layer recovers from a Redis restart without failing the next operation, and
follows a Sentinel failover to the new master."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis

from gleepost.redis_hosts import channel_layer_hosts
from realtime.layers import RedisPubSubChannelLayer
from tests.servers import RedisServer, redis_sentinel, redis_server

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


async def test_group_send_many_keeps_each_groups_order_across_shards() -> None:
    with redis_server() as redis:
        # Two shards (two connections to one server) so that groups hash to both.
        layer = RedisPubSubChannelLayer(hosts=[redis.url, redis.url])
        groups = [f"user.{n}" for n in range(20)]
        channels = {group: await layer.new_channel() for group in groups}
        for group, channel in channels.items():
            await layer.group_add(group, channel)
        loop_layer = layer._get_layer()
        shards = {
            loop_layer._get_shard(loop_layer._get_group_channel_name(group)) for group in groups
        }
        assert len(shards) == 2

        sends = [(group, {"type": "test.n", "n": n}) for n in range(5) for group in groups]
        await layer.group_send_many(sends)

        for group, channel in channels.items():
            received = [await asyncio.wait_for(layer.receive(channel), 3) for _ in range(5)]
            assert [message["n"] for message in received] == [0, 1, 2, 3, 4], group
        await layer.flush()


async def test_group_send_many_succeeds_first_time_after_a_restart() -> None:
    with redis_server() as redis:
        sender = RedisPubSubChannelLayer(hosts=[redis.url])
        await sender.group_send_many([("warm", {"type": "test.n", "n": 0})])
        redis.stop()
        redis.start()
        receiver = RedisPubSubChannelLayer(hosts=[redis.url])
        channel = await receiver.new_channel()
        await receiver.group_add("after", channel)
        await sender.group_send_many([("after", {"type": "test.n", "n": 1})])
        assert await asyncio.wait_for(receiver.receive(channel), 3) == {"type": "test.n", "n": 1}
        await sender.flush()
        await receiver.flush()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def info(server: RedisServer, section: str) -> dict[str, Any]:
    with redis.Redis.from_url(server.url) as client:
        return dict(client.info(section))


def subscribed_on(server: RedisServer) -> list[bytes]:
    with redis.Redis.from_url(server.url) as client:
        return list(client.pubsub_channels("*__group__g"))


def knows_replicas(sentinel: str, master_name: str) -> list[int]:
    host, port = sentinel.split(":")
    with redis.Redis(host=host, port=int(port)) as client:
        return [int(replica["port"]) for replica in client.sentinel_slaves(master_name)]


async def test_the_layer_follows_a_sentinel_failover_to_the_new_master() -> None:
    with (
        # Sends its data to a new replica at once, not after 5 s of waiting for more replicas.
        redis_server("--repl-diskless-sync-delay", "0") as master,
        redis_server("--replicaof", "127.0.0.1", str(master.port)) as replica,
    ):
        wait_until(lambda: info(replica, "replication")["master_link_status"] == "up", "sync")
        with redis_sentinel(master, "gp-test") as sentinel:
            # A Sentinel learns the replicas from the master: it can only fail over to a known one.
            wait_until(lambda: knows_replicas(sentinel, "gp-test") == [replica.port], "replica")
            # The hosts the settings make of REDIS_SENTINELS and REDIS_SENTINEL_MASTER.
            hosts = channel_layer_hosts(
                {
                    "REDIS_URL": master.url,
                    "REDIS_SENTINELS": sentinel,
                    "REDIS_SENTINEL_MASTER": "gp-test",
                }
            )
            layer = RedisPubSubChannelLayer(hosts=hosts)
            channel = await layer.new_channel()
            await layer.group_add("g", channel)
            await layer.group_send("g", {"type": "test.n", "n": 0})
            assert await asyncio.wait_for(layer.receive(channel), 3) == {"type": "test.n", "n": 0}
            assert subscribed_on(master) and not subscribed_on(replica)

            master.stop()
            # Until the Sentinel has promoted the replica, sends fail or reach no one; one
            # receive waits throughout (a cancelled receive would leave the channel).
            receiving = asyncio.ensure_future(layer.receive(channel))
            deadline = time.monotonic() + 15
            n = 0
            while not receiving.done() and time.monotonic() < deadline:
                n += 1
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, TimeoutError):
                    await asyncio.wait_for(layer.group_send("g", {"type": "test.n", "n": n}), 2)
                await asyncio.wait({receiving}, timeout=0.2)
            received = await asyncio.wait_for(receiving, 1)

            assert received["n"] >= 1
            assert info(replica, "replication")["role"] == "master"
            assert subscribed_on(replica)
            await layer.flush()


class FakeLoopLayer:
    """What _RetryingShard._receive_message reads of its layer."""

    def __init__(self) -> None:
        self.channel_layer = RedisPubSubChannelLayer()  # only its (msgpack) serializer is used
        self.channels: dict[str, asyncio.Queue[bytes]] = {}
        self.groups: dict[str, set[str]] = {}
        self.direct: dict[str, Any] = {}


async def test_direct_delivery_takes_what_handlers_accept_and_queues_the_rest() -> None:
    from gleepost.extensions.channels_redis import _RetryingShard

    layer = FakeLoopLayer()
    taken: list[tuple[str, dict[str, Any]]] = []
    for name in ("accepts", "declines", "raises", "backlogged", "plain"):
        layer.channels[name] = asyncio.Queue()
    layer.groups["g"] = set(layer.channels)
    layer.direct["accepts"] = lambda m: taken.append(("accepts", m)) or True
    layer.direct["declines"] = lambda m: False
    layer.direct["raises"] = lambda m: 1 / 0
    layer.direct["backlogged"] = lambda m: taken.append(("backlogged", m)) or True
    layer.channels["backlogged"].put_nowait(b"older")
    shard = _RetryingShard("redis://unused", layer)
    data = layer.channel_layer.serialize({"type": "realtime.event", "text": "t"})

    shard._receive_message({"channel": b"g", "data": data})

    # Decoded once and taken; a handler that declines or raises, a channel with older messages
    # queued (order), and one without a handler all get the message queued as before.
    assert taken == [("accepts", {"type": "realtime.event", "text": "t"})]
    assert layer.channels["accepts"].empty()
    for name in ("declines", "raises", "plain"):
        assert layer.channels[name].get_nowait() == data
    assert [layer.channels["backlogged"].get_nowait() for _ in range(2)] == [b"older", data]


class FlakyOperation:
    """Fails with each of ``errors`` in turn, then returns "done"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, *args: Any) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


async def test_a_failed_connection_is_tried_again_up_to_three_times() -> None:
    from gleepost.extensions.channels_redis import _retrying

    resets: list[str] = []

    async def reset() -> None:
        resets.append("fresh connection")

    twice = FlakyOperation(redis.ConnectionError("stale"), OSError("reset by peer"))
    assert await _retrying(twice, "channel", reset=reset) == "done"
    assert twice.calls == 3 and resets == []

    # Two coroutines reconnecting one connection: asyncio refuses the second reader; the next
    # try starts from a fresh connection.
    met = FlakyOperation(RuntimeError("readuntil() called while another coroutine is waiting"))
    assert await _retrying(met, "channel", reset=reset) == "done"
    assert met.calls == 2 and resets == ["fresh connection"]

    down = FlakyOperation(*(redis.ConnectionError("down") for _ in range(3)))
    with pytest.raises(redis.ConnectionError):
        await _retrying(down, "channel")
    assert down.calls == 3

    wrong = FlakyOperation(ValueError("not a connection's failure"))
    with pytest.raises(ValueError):
        await _retrying(wrong, "channel")
    assert wrong.calls == 1


class ConnectionIds(logging.Handler):
    """The connection id bound where each record is logged."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str | None] = []

    def emit(self, record: logging.LogRecord) -> None:
        from gleepost import log_context

        self.seen.append(log_context.connection_id.get())


async def test_the_receive_tasks_lines_carry_no_connections_id() -> None:
    from gleepost import log_context

    ids = ConnectionIds()
    channels_redis_log = logging.getLogger("channels_redis.pubsub")
    channels_redis_log.addHandler(ids)
    try:
        with redis_server() as server:
            layer = RedisPubSubChannelLayer(hosts=[server.url])
            with log_context.ids_bound(connection="the first subscriber"):
                channel = await layer.new_channel()
                await layer.group_add("g", channel)
            # The receive task logs the failure of the connection it reads.
            with redis.Redis.from_url(server.url) as admin:
                admin.client_kill_filter(_type="pubsub")
            deadline = time.monotonic() + 5
            while not ids.seen and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await layer.flush()
    finally:
        channels_redis_log.removeHandler(ids)
    assert ids.seen and set(ids.seen) == {None}
