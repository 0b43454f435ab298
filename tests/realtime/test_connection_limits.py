"""Connections per user: at most MAX_CONNECTIONS_PER_USER open at once, on every daphne process;
a crashed process's connections stop counting; Redis trouble never keeps anyone out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings as django_settings
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from conversations import actions as conversation_actions
from gleepost.conf import gp_settings
from realtime import connection_limits
from realtime.connection_limits import (
    STALE_SECS,
    LocalConnectionCounter,
    RedisConnectionCounter,
    take_slot,
)
from tests.conftest import Member
from tests.realtime.conftest import Connect
from tests.realtime.e2e import auth_query, ws_url

run = database_sync_to_async
needs_redis = pytest.mark.needs_redis
TOO_MANY = {"type": "error", "data": {"reason": "too many connections"}}


@pytest.fixture
def user_id() -> int:
    """A user id of its own for each test (the Redis sets outlive the test database's rows)."""
    return uuid.uuid4().int % 2**40


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    url = os.environ["REDIS_URL"]
    yield url
    from redis import asyncio as aioredis

    client = aioredis.from_url(url)
    keys = [key async for key in client.scan_iter(f"{django_settings.REDIS_PREFIX}:conns:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


class TestThroughTheConsumer:
    pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

    async def test_one_past_the_limit_is_told_and_closed_until_one_closes(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id]
        )
        limit = gp_settings.MAX_CONNECTIONS_PER_USER
        sockets = [await connect(alice) for _ in range(limit)]
        refused = await connect(alice)
        assert await refused.next_event() == TOO_MANY
        assert await refused.receive_output(timeout=3) == {"type": "websocket.close", "code": 4008}
        # Other users are not counted with alice.
        bob_socket = await connect(bob)
        await run(conversation_actions.do_send_message)(conversation, bob.user, "hi")
        for socket in [*sockets, bob_socket]:
            assert (await socket.next_event())["data"]["text"] == "hi"
        assert await refused.receive_nothing(timeout=0.2), "a refused connection got an event"
        await sockets.pop().disconnect()
        replacement = await connect(alice)
        await run(conversation_actions.do_send_message)(conversation, bob.user, "welcome")
        assert (await replacement.next_event())["data"]["text"] == "welcome"

    async def test_refused_credentials_take_no_slot(self, connect: Connect, alice: Member) -> None:
        for _ in range(gp_settings.MAX_CONNECTIONS_PER_USER + 1):
            socket = await connect(query=f"id={alice.id}&token=wrong")
            assert await socket.next_event() == {"error": "Invalid credentials"}
        await (await connect(alice)).assert_silent(0.1)

    async def test_a_connection_that_ends_on_its_own_gives_its_slot_back(
        self, connect: Connect, alice: Member, settings: Any
    ) -> None:
        settings.GLEEPOST = {**settings.GLEEPOST, "MAX_CONNECTIONS_PER_USER": 1}
        socket = await connect(alice)
        await socket.send_json_to({"action": "UNSUBSCRIBE", "posts": []})
        assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 1000}
        await socket.disconnect()
        await (await connect(alice)).assert_silent(0.1)

    async def test_redis_that_cannot_be_reached_lets_connections_in(
        self, connect: Connect, alice: Member, monkeypatch: pytest.MonkeyPatch, settings: Any
    ) -> None:
        monkeypatch.setattr(
            connection_limits, "_counter", RedisConnectionCounter("redis://127.0.0.1:9/0")
        )
        settings.GLEEPOST = {**settings.GLEEPOST, "MAX_CONNECTIONS_PER_USER": 1}
        first, second = await connect(alice), await connect(alice)
        await first.assert_silent(0.1)
        await second.assert_silent(0.1)


@pytest.mark.slow
@needs_redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_the_limit_holds_across_two_daphne_processes(
    servers: tuple[str, str], alice: Member
) -> None:
    limit = gp_settings.MAX_CONNECTIONS_PER_USER  # the daphne processes run on the defaults
    url = [ws_url(base, query=auth_query(alice)) for base in servers]
    async with AsyncExitStack() as stack:
        sockets: list[ClientConnection] = [
            await stack.enter_async_context(ws_connect(url[i % 2])) for i in range(limit)
        ]
        for base_url in url:
            async with ws_connect(base_url) as refused:
                assert json.loads(await refused.recv()) == TOO_MANY
                with pytest.raises(ConnectionClosed) as closed:
                    await refused.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
        await sockets[1].close()  # on the second process
        # The first process lets one more in once the second has seen that close.
        for _ in range(30):
            async with ws_connect(url[0]) as replacement:
                try:
                    first = await asyncio.wait_for(replacement.recv(), 0.3)
                except TimeoutError:
                    break  # accepted and silent: welcome
            assert json.loads(first) == TOO_MANY
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the slot of a closed connection was never given back")


class TestInMemory:
    pytestmark = pytest.mark.asyncio

    async def test_counts_per_user_up_to_the_limit(self) -> None:
        counter = LocalConnectionCounter()
        assert [await counter.add(1, f"c{i}", 2) for i in range(3)] == [True, True, False]
        assert await counter.add(2, "other user", 2)
        await counter.remove(1, "c0")
        assert await counter.add(1, "c2", 2)

    async def test_forgets_users_with_no_connection(self) -> None:
        counter = LocalConnectionCounter()
        await counter.add(1, "c", 2)
        await counter.remove(1, "c")
        await counter.remove(1, "c")  # twice is harmless
        assert counter._open == {}


@needs_redis
class TestInRedis:
    pytestmark = pytest.mark.asyncio

    async def test_two_processes_share_one_count(self, redis_url: str, user_id: int) -> None:
        first, second = RedisConnectionCounter(redis_url), RedisConnectionCounter(redis_url)
        assert await first.add(user_id, "first:a", 3)
        assert await second.add(user_id, "second:a", 3)
        assert await first.add(user_id, "first:b", 3)
        assert not await second.add(user_id, "second:b", 3)
        assert not await first.add(user_id, "first:c", 3)
        await first.remove(user_id, "first:a")
        assert await second.add(user_id, "second:b", 3)
        assert await first.count(user_id) == 3

    async def test_concurrent_connects_never_pass_the_limit(
        self, redis_url: str, user_id: int
    ) -> None:
        counters = [RedisConnectionCounter(redis_url) for _ in range(4)]
        taken = await asyncio.gather(*(counters[i % 4].add(user_id, f"c{i}", 5) for i in range(40)))
        assert taken.count(True) == 5
        assert await counters[0].count(user_id) == 5

    async def test_a_crashed_process_stops_counting_after_the_stale_time(
        self, redis_url: str, user_id: int
    ) -> None:
        now = time.time()
        crashed = RedisConnectionCounter(redis_url, clock=lambda: now - STALE_SECS - 1)
        assert await crashed.add(user_id, "crashed:a", 1)  # and then never heard of again
        alive = RedisConnectionCounter(redis_url, clock=lambda: now)
        assert await alive.add(user_id, "alive:a", 1)
        assert await alive.count(user_id) == 1

    async def test_heartbeats_keep_a_connection_counted(self, redis_url: str, user_id: int) -> None:
        clock = [time.time() - STALE_SECS - 10]
        process = RedisConnectionCounter(redis_url, clock=lambda: clock[0])
        assert await process.add(user_id, "beating", 3)
        assert await process.add(user_id, "silent", 3)
        clock[0] += 60
        await process.refresh(user_id, "beating")
        clock[0] += 40  # "silent" was last heard of STALE_SECS + 10 ago, "beating" 40 s ago
        assert await process.add(user_id, "new", 2)
        client = process._client()
        members = await client.zrange(RedisConnectionCounter.key(user_id), 0, -1)
        assert sorted(members) == [b"beating", b"new"]

    async def test_a_heartbeat_does_not_bring_back_a_pruned_connection(
        self, redis_url: str, user_id: int
    ) -> None:
        now = time.time()
        stalled = RedisConnectionCounter(redis_url, clock=lambda: now - STALE_SECS - 1)
        await stalled.add(user_id, "stalled", 1)
        alive = RedisConnectionCounter(redis_url, clock=lambda: now)
        assert await alive.add(user_id, "alive", 1)
        await alive.refresh(user_id, "stalled")
        assert await alive.count(user_id) == 1

    async def test_the_set_expires_once_nobody_refreshes_it(
        self, redis_url: str, user_id: int
    ) -> None:
        counter = RedisConnectionCounter(redis_url)
        await counter.add(user_id, "a", 1)
        ttl = await counter._client().ttl(RedisConnectionCounter.key(user_id))
        assert 0 < ttl <= STALE_SECS

    async def test_a_slot_beats_until_released(
        self, redis_url: str, user_id: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(connection_limits, "HEARTBEAT_SECS", 0.05)
        counter = RedisConnectionCounter(redis_url)
        slot = await take_slot(user_id, "conn", counter)
        assert slot is not None
        client = counter._client()
        key = RedisConnectionCounter.key(user_id)
        first = await client.zscore(key, "conn")
        await asyncio.sleep(0.2)
        assert await client.zscore(key, "conn") > first
        await slot.release()
        assert await counter.count(user_id) == 0
        await asyncio.sleep(0.1)
        assert await counter.count(user_id) == 0, "a released slot came back"

    async def test_one_task_beats_for_every_slot_of_the_process(
        self, redis_url: str, user_id: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(connection_limits, "HEARTBEAT_SECS", 0.05)
        monkeypatch.setattr(connection_limits, "HEARTBEAT_BATCH", 2)  # two round trips
        counter = RedisConnectionCounter(redis_url)
        tasks_before = len(asyncio.all_tasks())
        slots = [await take_slot(user_id, f"conn{n}", counter) for n in range(3)]
        assert len(asyncio.all_tasks()) == tasks_before + 1
        client = counter._client()
        key = RedisConnectionCounter.key(user_id)
        first = [await client.zscore(key, f"conn{n}") for n in range(3)]
        await asyncio.sleep(0.2)
        later = [await client.zscore(key, f"conn{n}") for n in range(3)]
        assert all(b > a for a, b in zip(first, later, strict=True))
        for slot in slots:
            assert slot is not None
            await slot.release()
        await asyncio.sleep(0.1)
        assert len(asyncio.all_tasks()) == tasks_before, "the heartbeat outlived its slots"


class TestFailingOpen:
    pytestmark = pytest.mark.asyncio

    async def test_unreachable_redis_lets_the_connection_in_and_logs(
        self, user_id: int, caplog: pytest.LogCaptureFixture
    ) -> None:
        counter = RedisConnectionCounter("redis://127.0.0.1:9/0")
        with caplog.at_level(logging.WARNING, logger="realtime.connection_limits"):
            slot = await take_slot(user_id, "conn", counter)
            assert slot is not None
            await slot.release()
        assert "letting this one in" in caplog.text

    async def test_redis_that_hangs_delays_a_connection_half_a_second_at_most(
        self, user_id: int
    ) -> None:
        # Bounded by the timeout, not by the hang (an hour): generous, as a busy machine may
        # stretch a timeout, but far from the hour and short of the 5 s a client waits.
        bound = 3 * connection_limits.REDIS_TIMEOUT_SECS
        started = time.monotonic()
        slot = await take_slot(user_id, "conn", HangingCounter())
        assert slot is not None
        assert time.monotonic() - started < bound
        started = time.monotonic()
        await slot.release()
        assert time.monotonic() - started < bound


class HangingCounter(LocalConnectionCounter):
    """A Redis that accepts the connection and never answers."""

    heartbeat = True

    async def add(self, user_id: int, connection_id: str, limit: int) -> bool:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def remove(self, user_id: int, connection_id: str) -> None:
        await asyncio.sleep(3600)
