"""Clients that stop reading: bounded, closed with 4009, never slowing the others, losing nothing.

Real daphne over real TCP. Fifty connections stop reading (a 4 KiB receive buffer, and the
client's transport paused as soon as the handshake is done) while a healthy client's latency is
measured, against a round without them.

The stalled clients stay paused until daphne says it is closing them: the server closes a
connection that has been over the bound for ``SLOW_CLIENT_GRACE_SECS``, and one that reads again
before that has not stopped reading. Each client goes over the bound at its 109th message
(what the kernel buffers hold is fixed), so when this test resumed them as soon as the healthy
client had its messages, the verdict depended on how long the round went on after that: on
a fast machine less than the grace, and none was closed ("having read 200"; issue 13). For the
same reason what a client finds in its backlog depends on the round's pace (all of its share
when the round ends within the grace); what does not is that nothing sent once daphne is
closing it is queued for it, which messages sent after that moment show.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from conversations import actions as conversation_actions
from gleepost.server import HARD_LIMIT_FACTOR
from tests.conftest import Member
from tests.realtime.e2e import auth_query, http, ws_url
from tests.servers import daphne, daphne_log_path, processes, rss_kib

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

UNSENT_BOUND = 256 * 1024
STALLED = 50
MESSAGES = 400
# Messages to each conversation once daphne is closing the stalled clients.
AFTER_CLOSING = 3
TEXT = "x" * 4000
# daphne's keepalive drops a client that has not answered a ping (sent after 20 s, answered
# within 30): on a machine busy enough to stretch a round past that, a stalled client would be
# dropped without a close frame before this test reads its 4009. Not what is tested here.
NO_KEEPALIVE = ("--ping-interval", "3600")
# How long after the loaded round the server may take to close every stalled client: its grace
# (2 s) and a wide margin for a busy machine; it is waited for, not slept.
CLOSE_WAIT_SECS = 60.0


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


def post_after_closing(base: str, sender: Member, conversations: list[int]) -> None:
    """``AFTER_CLOSING`` messages to each conversation, tagged "a"."""
    for i in range(2 * AFTER_CLOSING):
        status, body = http(
            "POST",
            f"{base}/api/v1/conversations/{conversations[i % 2]}/messages",
            sender,
            {"text": message_text("a", i)},
        )
        assert status == 201, body


def message_text(tag: str, i: int) -> str:
    """The ``i``th message of a round; its first 10 characters name it."""
    return f"{tag}{i}:{TEXT}"


def send_all(
    base: str, sender: Member, conversations: list[int], sent_at: dict[str, float], tag: str
) -> None:
    """Post MESSAGES messages, alternating conversations, 4 at a time, noting each send time
    in ``sent_at`` (read concurrently by the healthy client's reader)."""

    def one(i: int) -> None:
        text = message_text(tag, i)
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
    base: str, alice: Member, bob: Member, conversations: list[int], tag: str
) -> tuple[list[float], float]:
    sent: dict[str, float] = {}
    async with connect(ws_url(base, query=auth_query(bob)), max_size=2**20) as healthy:
        reader = asyncio.create_task(healthy_latencies(healthy, sent, MESSAGES))
        started = time.monotonic()
        await asyncio.to_thread(send_all, base, alice, conversations, sent, tag)
        latencies = await reader
    return latencies, time.monotonic() - started


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99) - 1]


async def test_fifty_stalled_clients_are_closed_and_do_not_slow_a_healthy_one(
    make_member: Callable[..., Member], report_figures: Callable[[str], None]
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
    with daphne(env, NO_KEEPALIVE) as base:
        pid = processes[base].pid
        baseline, baseline_secs = await run_round(base, alice, bob, conversations, "b")
        rss_before = rss_kib(pid)
        stalled = [await stalled_connection(base, m) for m in stalled_members]
        loaded, loaded_secs = await run_round(base, alice, bob, conversations, "l")
        rss_loaded = rss_kib(pid)
        log = daphne_log_path(urlsplit(base).port or 0)
        closing = await wait_until_closing(log, stalled, CLOSE_WAIT_SECS)
        # Sent once daphne is closing every stalled client: whatever the round left in their
        # buffers (all of it when the round was over within the grace), these never join it.
        await asyncio.to_thread(post_after_closing, base, alice, conversations)
        results = await asyncio.gather(*(read_to_close(c) for c in stalled))
        await asyncio.sleep(1)
        rss_after = rss_kib(pid)

        # A closed client resumes from the last event it read and gets every message it
        # missed: nothing was dropped.
        first = results[0]
        # Its conversation, conversations[0], has the loaded round's even messages and the
        # even ones sent after the closing.
        expected = {message_text("l", i)[:10] for i in range(0, MESSAGES, 2)} | {
            message_text("a", i)[:10] for i in range(0, 2 * AFTER_CLOSING, 2)
        }
        missed = expected - set(first.texts)
        member = stalled_members[0]
        async with connect(
            ws_url(base, query=auth_query(member, first.last_seq, await epoch_of(member))),
            max_size=2**20,
        ) as again:
            replayed: list[str] = []
            while missed - set(replayed):
                event = json.loads(await asyncio.wait_for(again.recv(), 10))
                if event["type"] == "message":
                    replayed.append(event["data"]["text"][:10])

    codes = [r.code for r in results]
    report_figures(
        f"slow clients: healthy p50/p99 {statistics.median(baseline) * 1e3:.1f}/"
        f"{p99(baseline) * 1e3:.1f} ms alone "
        f"({MESSAGES / baseline_secs:.0f} msg/s), "
        f"{statistics.median(loaded) * 1e3:.1f}/{p99(loaded) * 1e3:.1f} ms beside "
        f"{STALLED} stalled ({MESSAGES / loaded_secs:.0f} msg/s); closed with 4009: "
        f"{codes.count(4009)}/{STALLED}, other: {[c for c in codes if c != 4009]}; "
        f"first read {len(first.texts)} live, {len(replayed)} on resuming; "
        f"daphne RSS {rss_before} KiB before, {rss_loaded} loaded, {rss_after} after"
    )
    assert len(loaded) == MESSAGES
    assert closing == STALLED, f"daphne closed {closing}/{STALLED} within {CLOSE_WAIT_SECS} s"
    assert codes.count(4009) == STALLED, codes
    # Nothing sent to a client being closed as too slow is queued for it: it gets those
    # messages on resuming (above), not from the backlog it reads before the close.
    assert not any(t.startswith("a") for r in results for t in r.texts), [
        [t for t in r.texts if t.startswith("a")] for r in results
    ]
    # Generous: the benchmark measures. Beside the stalled clients each message goes to 26
    # sockets, not 1: on a starved CPU (a CPU hog, load 4) that work alone made the median 16x
    # what it was alone (3.3 s against 0.21). What this catches is a server held up by the
    # stalled clients: with each send to a client that is behind holding it 50 ms, the median
    # was 136 s. Each message also has to come within 30 s of the one before.
    assert statistics.median(loaded) < max(10.0, 20 * statistics.median(baseline))
    assert sorted(replayed) == sorted(set(replayed)), "a message replayed twice"
    assert set(replayed) >= missed
    # Bounded: a stalled client costs at most the hard limit, never its whole backlog.
    assert rss_loaded - rss_before < STALLED * UNSENT_BOUND * HARD_LIMIT_FACTOR / 1024


def closing_marker(connection: ClientConnection) -> str:
    """What daphne logs when it closes this connection as too slow (gleepost.server)."""
    host, port = connection.local_address[:2]
    return f"closing websocket [{host!r}, {port}]"


async def wait_until_closing(log: Path, stalled: list[ClientConnection], timeout: float) -> int:
    """Wait, the clients still not reading, until daphne has logged closing each of them (or
    ``timeout`` passes); how many it has."""
    markers = {closing_marker(c) for c in stalled}
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text(errors="replace")
        closing = sum(marker in text for marker in markers)
        if closing == len(markers) or time.monotonic() > deadline:
            return closing
        await asyncio.sleep(0.2)


@dataclass
class Read:
    """What a stalled client read once it read again: its messages, and how it ended."""

    code: int | str | None = None
    texts: list[str] = field(default_factory=list)
    last_seq: int = 0


async def read_to_close(connection: ClientConnection) -> Read:
    """Read a stalled client's backlog to its end: its messages and the code it was closed
    with, or, when no close came, how much it had read (so that a failure says where the
    backlog was)."""
    read = Read()
    connection.transport.resume_reading()
    try:
        while True:
            event = json.loads(await asyncio.wait_for(connection.recv(), 30))
            read.last_seq = event.get("seq", read.last_seq)
            if event["type"] == "message":
                read.texts.append(event["data"]["text"][:10])
    except ConnectionClosed as closed:
        read.code = closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        read.code = f"not closed 30 s after its last message, having read {len(read.texts)}"
    return read


async def epoch_of(member: Member) -> str:
    from realtime.history import current_position

    return (await database_sync_to_async(current_position)(member.id)).epoch
