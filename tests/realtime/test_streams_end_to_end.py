"""The HTTP transports over real daphne processes, TCP and Redis (PostgreSQL in CI).

- a client polling ``/api/v1/longpoll`` in a loop gets 200 messages sent in a burst and one
  more after a pause: all 201, in order, once each;
- an SSE stream survives its daphne process stopping: SIGTERM ends the response cleanly (the
  chunked body's last chunk), and the client, coming back with ``Last-Event-ID`` to the process
  started in its place, gets the message sent meanwhile once, in order, then live events.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import queue
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from conversations import actions as conversation_actions
from realtime import history
from tests.conftest import Member
from tests.realtime.e2e import auth_query, in_thread, new_chat, post_message
from tests.servers import daphne, daphne_log_path, free_port, processes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.asyncio,
]


def request(
    base: str, path: str, headers: dict[str, str] | None = None
) -> http.client.HTTPConnection:
    """A connection that sent a GET; its response is read as it arrives."""
    parts = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", path, headers=headers or {})
    return connection


def get(base: str, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    return request(base, path, headers).getresponse()


def longpoll(base: str, member: Member, since: int | None, epoch: str | None) -> Any:
    path = f"/api/v1/longpoll?{auth_query(member, since, epoch)}"
    with get(base, path) as response:
        assert response.status == 200
        return json.loads(response.read())


def open_longpolls(base: str) -> float:
    """gleepost_http_streams_open{transport="longpoll"} of the process at ``base``."""
    with get(base, "/metrics") as response:
        for line in response.read().decode().splitlines():
            if line.startswith('gleepost_http_streams_open{transport="longpoll"}'):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


class Poller(threading.Thread):
    """A client of the original long-poll, made lossless: it polls in a loop from the last
    event it got (its seq and epoch)."""

    def __init__(self, base: str, member: Member, wanted: int) -> None:
        super().__init__(daemon=True)
        self.base, self.member, self.wanted = base, member, wanted
        self.texts: list[str] = []
        self.seqs: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        since: int | None = None
        epoch: str | None = None
        try:
            while len(self.texts) < self.wanted:
                event = longpoll(self.base, self.member, since, epoch)
                if not event:
                    continue  # nothing within the timeout: poll again
                assert event["type"] == "message", event
                self.texts.append(event["data"]["text"])
                self.seqs.append(event["seq"])
                since, epoch = event["seq"], event["epoch"]
        except BaseException as error:  # reported by the test
            self.error = error


async def test_a_polling_client_gets_a_burst_and_a_late_message_all_in_order(
    alice: Member, bob: Member
) -> None:
    conversation = await new_chat(alice, bob)
    with daphne() as base:
        poller = Poller(base, bob, 201)
        poller.start()
        # The first poll (no position yet) is waiting: everything after it reaches the client.
        deadline = time.monotonic() + 10
        while await asyncio.to_thread(open_longpolls, base) < 1:
            assert time.monotonic() < deadline, "the first poll never arrived"
            await asyncio.sleep(0.05)

        def send_burst() -> None:
            for i in range(200):
                post_message(base, alice, conversation.pk, f"m{i}")

        await asyncio.to_thread(send_burst)
        await asyncio.sleep(2)
        await asyncio.to_thread(post_message, base, alice, conversation.pk, "late")
        await asyncio.to_thread(poller.join, 60)
    assert poller.error is None, poller.error
    assert poller.texts == [f"m{i}" for i in range(200)] + ["late"]
    assert poller.seqs == list(range(poller.seqs[0], poller.seqs[0] + 201))


class SseReader(threading.Thread):
    """An EventSource as a browser runs one: reads events, and tells when the body ended."""

    def __init__(self, base: str, path: str, last_event_id: str | None = None) -> None:
        super().__init__(daemon=True)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.connection = request(base, path, headers)
        self.response = self.connection.getresponse()
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        # Whether the body ended as HTTP says it should (its last chunk), not cut off.
        self.ended_cleanly = False
        self.start()

    def run(self) -> None:
        fields: dict[str, str] = {}
        try:
            for line in iter(self.response.readline, b""):
                text = line.decode().rstrip("\n")
                if text:
                    name, _, value = text.partition(": ")
                    fields[name] = value
                    continue
                if "data" in fields:
                    self.events.put({**json.loads(fields["data"]), "_id": fields.get("id")})
                fields = {}
            self.ended_cleanly = True
        except (http.client.IncompleteRead, OSError, ValueError):
            pass  # cut off, or closed by the test (``close``)
        finally:
            self.events.put(None)

    def next(self, timeout: float = 10) -> dict[str, Any] | None:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        """Go away as a browser does: the socket closed under the reading thread (closing the
        response would wait for the thread's read to return)."""
        sock = self.connection.sock
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
        self.join(10)
        self.connection.close()


@pytest.fixture
def port() -> Iterator[int]:
    yield free_port()


async def test_sse_resumes_with_last_event_id_across_a_daphne_restart(
    alice: Member, bob: Member, port: int
) -> None:
    conversation = await new_chat(alice, bob)
    path = f"/api/v1/events?{auth_query(bob)}"
    with daphne(port=port) as base:
        reader = SseReader(base, path)
        assert reader.response.status == 200
        await asyncio.to_thread(post_message, base, alice, conversation.pk, "before")
        before = await asyncio.to_thread(reader.next)
        assert before is not None and before["data"]["text"] == "before"
        assert before["_id"] == f"{before['epoch']}:{before['seq']}"
        processes[base].terminate()  # SIGTERM: the drain ends the stream
        assert await asyncio.to_thread(reader.next) is None
        await asyncio.to_thread(reader.join, 10)
        assert reader.ended_cleanly, "the stream was cut off rather than ended"
    # Sent while no process serves the client.
    await in_thread(conversation_actions.do_send_message, conversation, alice.user, "meanwhile")
    with daphne(port=port) as base:
        again = SseReader(base, path, last_event_id=before["_id"])
        await asyncio.to_thread(post_message, base, alice, conversation.pk, "after")
        received = [await asyncio.to_thread(again.next) for _ in range(2)]
        assert [e["data"]["text"] for e in received if e] == ["meanwhile", "after"]
        assert [e["seq"] for e in received if e] == [before["seq"] + 1, before["seq"] + 2]
        again.close()


async def test_an_sse_client_that_stops_reading_is_ended_and_loses_nothing(
    alice: Member, bob: Member
) -> None:
    conversation = await new_chat(alice, bob)
    env = {
        "GLEEPOST_MAX_UNSENT_BYTES_PER_CONNECTION": str(64 * 1024),
        "GLEEPOST_WEBSOCKET_SEND_BUFFER_BYTES": str(16 * 1024),
        # The ended stream's slot must come back for bob to connect again.
        "GLEEPOST_MAX_CONNECTIONS_PER_USER": "1",
    }
    with daphne(env) as base:
        port = int(base.rsplit(":", 1)[1])
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        stalled.sendall(
            f"GET /api/v1/events?{auth_query(bob)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        )
        assert stalled.recv(12) == b"HTTP/1.1 200"  # then it reads nothing more
        reader = SseReader(base, f"/api/v1/events?{auth_query(alice)}")
        await asyncio.to_thread(post_message, base, alice, conversation.pk, "first")
        assert await asyncio.to_thread(reader.next) is not None
        start = await in_thread(history.current_position, bob.id)

        def send_many() -> None:
            for i in range(100):
                post_message(base, alice, conversation.pk, f"{i:03d}" + "x" * 4000)

        await asyncio.to_thread(send_many)
        # Alice's own stream, read as it comes, is not held up by bob's.
        alice_got = [await asyncio.to_thread(reader.next) for _ in range(100)]
        assert [e["data"]["text"][:3] for e in alice_got if e] == [f"{i:03d}" for i in range(100)]
        reader.close()
        # Within the grace (2 s) and a wide margin for a busy machine, bob's stream is ended
        # and its slot given back: bob connects again and resumes from before the burst.
        deadline = time.monotonic() + 30
        while True:
            again = SseReader(base, f"/api/v1/events?{auth_query(bob, start.seq, start.epoch)}")
            if again.response.status == 200:
                break
            assert again.response.status == 429
            again.close()
            assert time.monotonic() < deadline, "the stalled stream was never ended"
            await asyncio.sleep(0.2)
        replayed = [await asyncio.to_thread(again.next) for _ in range(100)]
        texts = [e["data"]["text"][:5] for e in replayed if e]
        assert texts == [f"{i:03d}xx" for i in range(100)]
        again.close()
        stalled.close()
    assert "ending event stream" in daphne_log_path(port).read_text()
