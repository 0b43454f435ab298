"""Resuming over real daphne processes, PostgreSQL (in CI) and Redis: nothing lost, nothing twice.

- a client that misses 100 events gets exactly those 100, in order, when it resumes;
- resuming on the other daphne process than the one it left;
- Redis stopped while events are committed and restarted: the resumed client gets them all;
- random disconnect/reconnect schedules under a steady flow from two concurrent publishers.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect

from realtime import history
from tests.conftest import Member
from tests.realtime.e2e import (
    assert_silent,
    auth_query,
    http,
    in_thread,
    new_chat,
    next_raw_event,
    post_message,
    ws_url,
)
from tests.servers import daphne, redis_server

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]


async def post_messages(base: str, sender: Member, conversation_id: int, count: int) -> list[int]:
    def send_all() -> list[int]:
        return [post_message(base, sender, conversation_id, f"m{i}") for i in range(count)]

    return await asyncio.to_thread(send_all)


async def position(member: Member) -> history.Position:
    return await in_thread(history.current_position, member.id)


async def read_until_silent(socket: Any, quiet: float = 1.0) -> list[dict[str, Any]]:
    events = []
    while True:
        try:
            events.append(await next_raw_event(socket, timeout=quiet))
        except TimeoutError:
            return events


async def test_client_that_missed_100_events_gets_exactly_those_in_order(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    first, second = servers
    conversation = await new_chat(alice, bob)
    start = await position(bob)
    async with connect(ws_url(first, query=auth_query(bob, start.seq, start.epoch))) as socket:
        await post_messages(second, alice, conversation.pk, 3)
        seen = [await next_raw_event(socket) for _ in range(3)]
    last = seen[-1]
    missed = await post_messages(second, alice, conversation.pk, 100)
    async with connect(ws_url(first, query=auth_query(bob, last["seq"], last["epoch"]))) as socket:
        replayed = [await next_raw_event(socket) for _ in range(100)]
        await assert_silent(socket)
        live = await post_messages(second, alice, conversation.pk, 1)
        after = await next_raw_event(socket)
    assert [e["data"]["id"] for e in replayed] == missed
    assert [e["seq"] for e in replayed] == list(range(last["seq"] + 1, last["seq"] + 101))
    assert all(e["type"] == "message" and e["epoch"] == last["epoch"] for e in replayed)
    assert after["data"]["id"] == live[0] and after["seq"] == last["seq"] + 101


async def test_resume_on_the_other_daphne_process(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    first, second = servers
    conversation = await new_chat(alice, bob)
    async with connect(ws_url(first, query=auth_query(bob))) as socket:
        await post_messages(first, alice, conversation.pk, 1)
        last = await next_raw_event(socket)
    missed = await post_messages(first, alice, conversation.pk, 5)
    async with connect(
        ws_url(second, "/ws", auth_query(bob, last["seq"], last["epoch"]))
    ) as socket:
        await socket.send('{"action":"SUBSCRIBE","posts":[]}')  # any frame; changes nothing
        replayed = [await next_raw_event(socket) for _ in range(5)]
    assert [e["data"]["id"] for e in replayed] == missed


async def test_resume_frame_over_tcp(servers: tuple[str, str], alice: Member, bob: Member) -> None:
    first, second = servers
    conversation = await new_chat(alice, bob)
    start = await position(bob)
    missed = await post_messages(second, alice, conversation.pk, 4)
    async with connect(ws_url(first, query=auth_query(bob))) as socket:
        await socket.send(f'{{"action":"RESUME","since":{start.seq},"epoch":"{start.epoch}"}}')
        replayed = [await next_raw_event(socket) for _ in range(4)]
        await assert_silent(socket)
    assert [e["data"]["id"] for e in replayed] == missed


async def test_events_committed_while_redis_is_down_reach_the_resumed_client(
    alice: Member, bob: Member, django_db_blocker: Any
) -> None:
    conversation = await new_chat(alice, bob)
    with redis_server() as redis:
        env = {"REDIS_URL": redis.url}
        with daphne(env) as reader, daphne(env) as writer:
            start = await position(bob)
            async with connect(
                ws_url(reader, query=auth_query(bob, start.seq, start.epoch))
            ) as socket:
                await post_messages(writer, alice, conversation.pk, 2)
                seen = [await next_raw_event(socket) for _ in range(2)]
            redis.stop()
            started = time.monotonic()
            during = await post_messages(writer, alice, conversation.pk, 20)
            outage_writes_secs = time.monotonic() - started
            redis.start()
            await asyncio.sleep(1)
            last = seen[-1]
            async with connect(
                ws_url(reader, query=auth_query(bob, last["seq"], last["epoch"]))
            ) as socket:
                replayed = [await next_raw_event(socket) for _ in range(20)]
                await assert_silent(socket)
    assert [e["data"]["id"] for e in replayed] == during
    assert [e["seq"] for e in replayed] == list(range(last["seq"] + 1, last["seq"] + 21))
    # Writes kept succeeding without waiting on Redis.
    assert outage_writes_secs < 20 * 0.5


class Publisher(threading.Thread):
    """Posts messages into one conversation at a steady rate until told to stop."""

    def __init__(self, base: str, sender: Member, conversation_id: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.base, self.sender, self.conversation_id = base, sender, conversation_id
        self.interval = interval
        self.sent: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            self.sent.append(
                post_message(self.base, self.sender, self.conversation_id, f"n{len(self.sent)}")
            )
            self.halt.wait(self.interval)


schedules = st.lists(
    st.tuples(
        st.floats(min_value=0.05, max_value=0.6),  # connected for
        st.floats(min_value=0.0, max_value=0.4),  # then away for
        st.booleans(),  # resume by query (True) or by RESUME frame
        st.integers(min_value=0, max_value=1),  # which daphne to reconnect to
    ),
    min_size=2,
    max_size=6,
)


@settings(
    max_examples=4,
    deadline=None,
    # Each example takes seconds of real traffic: report a failure as found, without shrinking.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=schedules, seed=st.integers(0, 2**16))
async def test_random_reconnects_under_two_publishers_lose_and_duplicate_nothing(
    servers: tuple[str, str],
    alice: Member,
    bob: Member,
    carol: Member,
    schedule: list[tuple[float, float, bool, int]],
    seed: int,
) -> None:
    rng = random.Random(seed)
    from_alice, from_carol = await new_chat(alice, bob), await new_chat(carol, bob)
    start = await position(bob)
    publishers = [
        Publisher(servers[0], alice, from_alice.pk, 0.02),
        Publisher(servers[1], carol, from_carol.pk, 0.03),
    ]
    for publisher in publishers:
        publisher.start()
    client = FollowingClient(bob, start, [from_alice.pk, from_carol.pk], servers[0])
    try:
        for connected_for, away_for, by_query, which in schedule:
            await client.session(servers[which], by_query, connected_for)
            await asyncio.sleep(away_for * rng.random())
    finally:
        for publisher in publishers:
            publisher.halt.set()
        for publisher in publishers:
            await asyncio.to_thread(publisher.join, 10)
    await client.session(servers[0], by_query=True, connected_for=None)

    sent = set(publishers[0].sent) | set(publishers[1].sent)
    seqs = [e["seq"] for e in client.events]
    assert seqs == sorted(set(seqs)), "an event arrived twice or out of order"
    assert client.message_ids() == sent, "a message was lost"
    if not client.resyncs:
        # With no resync every position came as an event: exactly the range, no hole.
        assert seqs == list(range(start.seq + 1, start.seq + len(sent) + 1))


class FollowingClient:
    """A client following docs/websocket-protocol.md: resume from the last position, keep only
    events past it, and on resync-required refetch the conversations over REST."""

    def __init__(
        self, member: Member, start: history.Position, conversations: list[int], base: str
    ) -> None:
        self.member, self.conversations, self.base = member, conversations, base
        self.last_seq, self.epoch = start.seq, start.epoch
        self.events: list[dict[str, Any]] = []
        self.refetched: set[int] = set()
        self.resyncs = 0

    async def session(self, base: str, by_query: bool, connected_for: float | None) -> None:
        query = auth_query(self.member, self.last_seq, self.epoch) if by_query else None
        async with connect(ws_url(base, query=query or auth_query(self.member))) as socket:
            if not by_query:
                await socket.send(
                    f'{{"action":"RESUME","since":{self.last_seq},"epoch":"{self.epoch}"}}'
                )
            loop = asyncio.get_running_loop()
            deadline = loop.time() + (connected_for if connected_for is not None else 3600)
            while (remaining := deadline - loop.time()) > 0:
                try:
                    timeout = remaining if connected_for is not None else 1.5
                    event = await next_raw_event(socket, timeout=timeout)
                except TimeoutError:
                    return
                await self.handle(event)

    async def handle(self, event: dict[str, Any]) -> None:
        if event["type"] == "resync-required":
            self.resyncs += 1
            for conversation_id in self.conversations:
                self.refetched |= await asyncio.to_thread(
                    all_message_ids, self.base, self.member, conversation_id
                )
            self.last_seq, self.epoch = event["data"]["since"], event["data"]["epoch"]
        elif event["seq"] > self.last_seq:
            self.events.append(event)
            self.last_seq = event["seq"]

    def message_ids(self) -> set[int]:
        return {e["data"]["id"] for e in self.events} | self.refetched


def all_message_ids(base: str, member: Member, conversation_id: int) -> set[int]:
    ids: set[int] = set()
    before = ""
    while True:
        url = f"{base}/api/v1/conversations/{conversation_id}/messages?count=100{before}"
        status, page = http("GET", url, member)
        assert status == 200, page
        if not page:
            return ids
        ids |= {m["id"] for m in page}
        before = f"&before={page[-1]['id']}"
