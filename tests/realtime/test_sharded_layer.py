"""The channel layer sharded over two Redis servers (``REDIS_CHANNEL_URLS``), end to end.

Two private Redis servers and two daphne processes configured with both: clients on one process
receive what REST calls on the other cause, for users whose groups hash to either server, and
each server carries exactly its own users' groups. When one server stops, the users of the other
keep receiving; the stopped server's users get what they missed once it is back, from the
history, as after any Redis outage (test_redis_outage.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest
import redis
from django.conf import settings
from websockets.asyncio.client import ClientConnection, connect

from conversations import actions as conversation_actions
from realtime.groups import user_group
from realtime.layers import RedisPubSubChannelLayer
from tests.conftest import Member
from tests.realtime.e2e import assert_silent, auth_query, http, in_thread, next_event, ws_url
from tests.servers import RedisServer, daphne, redis_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]

USERS_PER_SHARD = 2
RESUBSCRIBE_TIMEOUT_SECS = 10.0


def user_groups_on(server: RedisServer) -> set[str]:
    """The ``user.<id>`` groups someone is subscribed to on ``server``."""
    marker = f"{settings.REDIS_PREFIX}:asgi__group__"
    with redis.Redis.from_url(server.url) as client:
        names = [name.decode() for name in client.pubsub_channels(f"{marker}user.*")]
    return {name.removeprefix(marker) for name in names}


def publishes_on(server: RedisServer) -> int:
    with redis.Redis.from_url(server.url) as client:
        return int(client.info("commandstats").get("cmdstat_publish", {}).get("calls", 0))


async def users_on_each_shard(
    make_member: Callable[..., Member], urls: list[str]
) -> list[list[Member]]:
    """New users until each shard has ``USERS_PER_SHARD`` of them; user ids decide the shard."""
    # The layer the daphne processes build from REDIS_CHANNEL_URLS; here it only hashes names.
    layer = RedisPubSubChannelLayer(hosts=urls, prefix=f"{settings.REDIS_PREFIX}:asgi")._get_layer()
    shards: list[list[Member]] = [[] for _ in urls]
    created = 0
    while any(len(members) < USERS_PER_SHARD for members in shards):
        member = await in_thread(make_member, f"user{created}")
        created += 1
        shard = layer._get_shard(layer._get_group_channel_name(user_group(member.id)))
        members = shards[layer._shards.index(shard)]
        if len(members) < USERS_PER_SHARD:
            members.append(member)
    return shards


async def next_message_ids(socket: ClientConnection, count: int) -> list[int]:
    events = [await next_event(socket) for _ in range(count)]
    assert all(event["type"] == "message" for event in events), events
    return [event["data"]["id"] for event in events]


async def test_events_reach_either_shards_users_and_one_shard_stopping_spares_the_other(
    make_member: Callable[..., Member],
) -> None:
    sender = await in_thread(make_member, "sender")
    with redis_server() as first, redis_server() as second:
        urls = [first.url, second.url]
        shards = await users_on_each_shard(make_member, urls)
        members = [member for shard in shards for member in shard]
        conversation, _ = await in_thread(
            conversation_actions.do_create_conversation, sender.user, [m.id for m in members]
        )
        messages = f"/api/v1/conversations/{conversation.pk}/messages"

        def post(base: str, text: str) -> int:
            status, body = http("POST", f"{base}{messages}", sender, {"text": text})
            assert status == 201, body
            return int(body["id"])

        # The cache and counters on the first server; the channel layer on both.
        env = {"REDIS_URL": first.url, "REDIS_CHANNEL_URLS": ",".join(urls)}
        with daphne(env) as reader, daphne(env) as writer:
            async with AsyncExitStack() as stack:
                sockets = {
                    member.id: await stack.enter_async_context(
                        connect(ws_url(reader, query=auth_query(member)))
                    )
                    for member in members
                }
                both = await asyncio.to_thread(post, writer, "to both shards")
                for member in members:
                    assert await next_message_ids(sockets[member.id], 1) == [both]
                for server, shard in zip((first, second), shards, strict=True):
                    assert user_groups_on(server) == {user_group(m.id) for m in shard}
                    assert publishes_on(server) >= 1

                second.stop()
                during = await asyncio.to_thread(post, writer, "while the second shard is down")
                for member in shards[0]:
                    assert await next_message_ids(sockets[member.id], 1) == [during]
                await asyncio.gather(*(assert_silent(sockets[m.id]) for m in shards[1]))

                second.start()
                # The reading process subscribes again on its own; wait for it, then an event
                # makes each connection of the second shard fill its gap from the history.
                wanted = {user_group(m.id) for m in shards[1]}
                deadline = time.monotonic() + RESUBSCRIBE_TIMEOUT_SECS
                while user_groups_on(second) != wanted and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                assert user_groups_on(second) == wanted
                after = await asyncio.to_thread(post, writer, "after the second shard is back")
                for member in shards[0]:
                    assert await next_message_ids(sockets[member.id], 1) == [after]
                for member in shards[1]:
                    assert await next_message_ids(sockets[member.id], 2) == [during, after]
