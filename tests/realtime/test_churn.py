"""Connection churn: connect/subscribe/disconnect cycles leave nothing behind.

Measured on a real daphne with the Redis channel layer: the process's Redis subscriptions (one
per connection channel and per group with local members) return to where they started, and its
resident memory stays flat once warm.

Warm means past the first few thousand cycles: daphne's RSS grows by ~7 MB over its first
~2,500 cycles (16 at a time) and then stays within ~0.1-1 MB however many follow (measured every
500 cycles up to 10,000: +4.1, +4.8, +6.0, +7.3 MB, then +7.3 to +7.7 MB up to 9,000, one step of
0.9 MB at 9,500). So the memory is measured over the cycles after a warm-up past that knee, with
the same bound per cycle as before (1.6 KiB), rather than over 10,000 cycles from 500 on, which
took ~100 s of the suite's busiest core and whose bound also had to cover the warm-up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis
from channels.db import database_sync_to_async
from django.conf import settings
from websockets.asyncio.client import connect

from posts import actions as post_actions
from tests.conftest import Member
from tests.realtime.e2e import auth_query, ws_url
from tests.servers import daphne, processes, rss_kib

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]

# Past the knee of the RSS curve (the module's docstring), with a margin.
WARM_UP = 3_000
CYCLES = 2_500
CONCURRENCY = 16
# A leak of 1.6 KiB per connection fails the test (16 MiB over 10,000 cycles before).
RSS_GROWTH_BOUND_KIB = 4 * 1024


def subscriptions(client: redis.Redis) -> int:
    """Redis pub/sub channels of this test run (connection channels and groups)."""
    return len(client.pubsub_channels(f"{settings.REDIS_PREFIX}:asgi*"))


async def cycle(url: str, post_id: int) -> None:
    async with connect(url) as socket:
        await socket.send(f'{{"action":"SUBSCRIBE","posts":[{post_id}]}}')
        await asyncio.wait_for(socket.recv(), 10)  # the current views: subscribed


async def run_cycles(urls: list[str], post_id: int, count: int) -> None:
    """``count`` cycles, CONCURRENCY at a time, each worker as its own user."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker(url: str) -> None:
        while not queue.empty():
            queue.get_nowait()
            await cycle(url, post_id)

    await asyncio.gather(*(worker(url) for url in urls))


async def test_churn_leaves_no_groups_and_flat_memory(
    make_member: Callable[..., Member], report_figures: Callable[[str], None]
) -> None:
    members = [await database_sync_to_async(make_member)(f"u{i}") for i in range(CONCURRENCY)]

    def make_post() -> int:
        network = post_actions.do_create_network(members[0].user, "Campus")
        post_actions.do_add_network_members(network, members[0].user, [m.id for m in members[1:]])
        return post_actions.do_create_post(network, members[0].user, "hello").pk

    post_id = await database_sync_to_async(make_post)()
    client = redis.Redis.from_url(settings.REDIS_URL)
    with daphne() as base:
        pid = processes[base].pid
        urls = [ws_url(base, query=auth_query(member)) for member in members]
        idle_subscriptions = subscriptions(client)
        async with connect(urls[0]) as held:
            await held.send(f'{{"action":"SUBSCRIBE","posts":[{post_id}]}}')
            await asyncio.wait_for(held.recv(), 10)
            # Its channel, its user's group and the post's group: the count sees them.
            assert subscriptions(client) == idle_subscriptions + 3
        await run_cycles(urls, post_id, WARM_UP)
        await asyncio.sleep(1)
        rss_warm = rss_kib(pid)
        started = time.monotonic()
        await run_cycles(urls, post_id, CYCLES)
        elapsed = time.monotonic() - started
        await asyncio.sleep(2)  # let the last disconnects be processed
        rss_after = rss_kib(pid)
        after_subscriptions = subscriptions(client)
    report_figures(
        f"churn: {CYCLES} cycles after {WARM_UP} in {elapsed:.1f} s "
        f"({CYCLES / elapsed:.0f}/s, {CONCURRENCY} at a time); "
        f"Redis subscriptions {idle_subscriptions} before, "
        f"{after_subscriptions} after; daphne RSS {rss_warm} KiB warm, {rss_after} KiB "
        f"after ({rss_after - rss_warm:+d} KiB)"
    )
    assert after_subscriptions == idle_subscriptions
    assert rss_after - rss_warm < RSS_GROWTH_BOUND_KIB
