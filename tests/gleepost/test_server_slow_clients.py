"""Clients that stop reading: bounded, closed with 4009, never slowing the others, losing nothing.

Real daphne over real TCP. Fifty connections stop reading (a 4 KiB receive buffer, and the
client's transport paused as soon as the handshake is done) while a healthy client's latency is
measured.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conversations import actions as conversation_actions
from gleepost.server import HARD_LIMIT_FACTOR
from tests.conftest import Member
from tests.realtime.e2e import auth_query, http, ws_url
from tests.servers import daphne, processes, rss_kib

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

UNSENT_BOUND = 256 * 1024
STALLED = 50
MESSAGES = 400
TEXT = "x" * 4000


async def stalled_connection(base: str, member: Member) -> ClientConnection:
    """A websocket whose client reads nothing after the handshake, with a tiny receive buffer.

    The transport itself is paused: left to the client library, an asyncio transport reads up to
    256 KiB at a time before its flow control stops it, and the server's kernel may by then have
    grown the send buffer — together enough to hold this test's whole backlog, so that daphne
    never saw a stalled client at all (a rare CI failure: every stalled client read all of its
    200 messages and was never closed). ``close_code`` resumes reading."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, (host, port))
    # No client keepalive: a client that does not read cannot see its pongs, and would close
    # the connection itself (without a close frame) before the server does.
    connection = await connect(
        ws_url(base, query=auth_query(member)), sock=raw, max_queue=1, ping_interval=None
    )
    connection.transport.pause_reading()
    return connection


def send_all(
    base: str, sender: Member, conversations: list[int], sent_at: dict[str, float]
) -> None:
    """Post MESSAGES messages, alternating conversations, 4 at a time, noting each send time
    in ``sent_at`` (read concurrently by the healthy client's reader)."""

    def one(i: int) -> None:
        text = f"{i}:{TEXT}"
        sent_at[text[:10]] = time.monotonic()
        status, body = http(
            "POST",
            f"{base}/api/v1/conversations/{conversations[i % 2]}/messages",
            sender,
            {"text": text},
        )
        assert status == 201, body

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(MESSAGES)))


async def healthy_latencies(
    socket: ClientConnection, sent_at: dict[str, float], count: int
) -> list[float]:
    latencies = []
    while len(latencies) < count:
        event = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if event["type"] == "message":
            # The send time is noted before the request goes out, so it is always there.
            latencies.append(time.monotonic() - sent_at[event["data"]["text"][:10]])
    return latencies


async def run_round(
    base: str, alice: Member, bob: Member, conversations: list[int]
) -> tuple[list[float], float]:
    sent: dict[str, float] = {}
    async with connect(ws_url(base, query=auth_query(bob)), max_size=2**20) as healthy:
        reader = asyncio.create_task(healthy_latencies(healthy, sent, MESSAGES))
        started = time.monotonic()
        await asyncio.to_thread(send_all, base, alice, conversations, sent)
        latencies = await reader
    return latencies, time.monotonic() - started


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


async def test_fifty_stalled_clients_are_closed_and_do_not_slow_a_healthy_one(
    make_member: Callable[..., Member], capsys: Any
) -> None:
    alice, bob = (
        await database_sync_to_async(make_member)("alice"),
        await database_sync_to_async(make_member)("bob"),
    )
    stalled_members = [
        await database_sync_to_async(make_member)(f"stalled{i}") for i in range(STALLED)
    ]
    halves = [stalled_members[: STALLED // 2], stalled_members[STALLED // 2 :]]
    conversations = []
    for half in halves:
        conversation, _ = await database_sync_to_async(conversation_actions.do_create_conversation)(
            alice.user, [bob.id, *(m.id for m in half)]
        )
        conversations.append(conversation.pk)

    env = {
        "GLEEPOST_MAX_UNSENT_BYTES_PER_CONNECTION": str(UNSENT_BOUND),
        # Long enough for this test to read every stalled client's backlog and its close frame.
        "GLEEPOST_SLOW_CLIENT_ABORT_SECS": "120",
    }
    with daphne(env) as base:
        pid = processes[base].pid
        baseline, baseline_secs = await run_round(base, alice, bob, conversations)
        rss_before = rss_kib(pid)
        stalled = [await stalled_connection(base, m) for m in stalled_members]
        loaded, loaded_secs = await run_round(base, alice, bob, conversations)
        rss_loaded = rss_kib(pid)
        codes = await asyncio.gather(*(close_code(connection) for connection in stalled))
        await asyncio.sleep(1)
        rss_after = rss_kib(pid)

        # A closed client resumes and gets every message it missed: nothing was dropped.
        member = stalled_members[0]
        async with connect(
            ws_url(base, query=auth_query(member, 0, await epoch_of(member)))
        ) as again:
            replayed = []
            while len(replayed) < MESSAGES // 2:
                event = json.loads(await asyncio.wait_for(again.recv(), 10))
                if event["type"] == "message":
                    replayed.append(event)

    with capsys.disabled():
        print(
            f"\nslow clients: healthy p50/p99 {statistics.median(baseline) * 1e3:.1f}/"
            f"{p99(baseline) * 1e3:.1f} ms alone ({MESSAGES / baseline_secs:.0f} msg/s), "
            f"{statistics.median(loaded) * 1e3:.1f}/{p99(loaded) * 1e3:.1f} ms beside "
            f"{STALLED} stalled ({MESSAGES / loaded_secs:.0f} msg/s); closed with 4009: "
            f"{codes.count(4009)}/{STALLED}, other: {[c for c in codes if c != 4009]}; "
            f"daphne RSS {rss_before} KiB before, {rss_loaded} loaded, {rss_after} after"
        )
    assert len(loaded) == MESSAGES
    assert codes.count(4009) == STALLED, codes
    assert p99(loaded) < max(0.5, 2 * p99(baseline))
    assert len(replayed) == MESSAGES // 2
    # Bounded: a stalled client costs at most the hard limit, never its whole backlog.
    assert rss_loaded - rss_before < STALLED * UNSENT_BOUND * HARD_LIMIT_FACTOR / 1024


async def close_code(connection: ClientConnection) -> int | str | None:
    """Read a stalled client's backlog to its end: the code it was closed with, or, when no
    close came, how much it had read (so that a failure says where the backlog was)."""
    read = 0
    connection.transport.resume_reading()
    try:
        while True:
            await asyncio.wait_for(connection.recv(), 30)
            read += 1
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return f"not closed 30 s after its last message, having read {read}"


async def epoch_of(member: Member) -> str:
    from realtime.history import current_position

    return (await database_sync_to_async(current_position)(member.id)).epoch
