"""SIGTERM drains the real daphne: listener closed, websockets closed with 1001, requests under
way answered, exit 0 within the grace period; a second signal, or the grace period, ends the wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import signal
import socket
import time
import urllib.parse
from urllib.parse import urlsplit

import pytest
from websockets.asyncio.client import ClientConnection, connect

from gleepost import log_context, shutdown
from gleepost.shutdown import CLOSE_HANDSHAKE_SECS, GracefulServer
from realtime.close_codes import CLOSE_GOING_AWAY
from tests.conftest import Member
from tests.realtime.e2e import auth_query, ws_url
from tests.servers import daphne, processes

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _port(base: str) -> int:
    port = urlsplit(base).port
    assert port is not None
    return port


def _start_request(base: str, body: bytes) -> socket.socket:
    """A POST whose headers announce ``body`` but which sends only its first half: a request
    under way, as an upload is."""
    client = socket.create_connection(("127.0.0.1", _port(base)), timeout=10)
    head = (
        "POST /api/v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    client.sendall(head.encode() + body[: len(body) // 2])
    return client


def _finish_request(client: socket.socket, body: bytes) -> tuple[str, bytes]:
    """Send the rest of the body; the response's status line and body."""
    client.sendall(body[len(body) // 2 :])
    response = b""
    while chunk := client.recv(65536):
        response += chunk
    client.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), payload


def _refused(base: str) -> bool:
    try:
        socket.create_connection(("127.0.0.1", _port(base)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


async def _close_code(socket_: ClientConnection) -> int | None:
    await asyncio.wait_for(socket_.wait_closed(), 5)
    return socket_.close_code


async def _exit_status(base: str, timeout: float) -> int:
    return await asyncio.to_thread(processes[base].wait, timeout)


async def test_sigterm_closes_every_websocket_with_1001_and_finishes_requests_under_way(
    alice: Member, bob: Member, carol: Member
) -> None:
    body = urllib.parse.urlencode({"email": "nobody@example.com", "pass": "wrong"}).encode()
    with daphne({"GLEEPOST_SHUTDOWN_GRACE_SECS": "5"}) as base:
        sockets = [
            await connect(ws_url(base, query=auth_query(member)))
            for member in (alice, bob, carol, alice)
        ]
        request = await asyncio.to_thread(_start_request, base, body)
        await asyncio.sleep(0.2)  # the request has reached daphne
        signalled = time.monotonic()
        processes[base].send_signal(signal.SIGTERM)

        codes = await asyncio.gather(*(_close_code(s) for s in sockets))
        assert codes == [CLOSE_GOING_AWAY] * len(sockets)
        assert {s.close_reason for s in sockets} == {"server shutting down"}
        # Still running (the request is unfinished), and no longer accepting connections.
        assert processes[base].poll() is None
        assert await asyncio.to_thread(_refused, base)

        status, payload = await asyncio.to_thread(_finish_request, request, body)
        assert status == "HTTP/1.1 400 Bad Request"
        assert json.loads(payload) == {"error": "Bad email/password"}
        assert await _exit_status(base, 5) == 0
        assert time.monotonic() - signalled < 5


async def test_an_idle_server_exits_at_once() -> None:
    with daphne() as base:
        signalled = time.monotonic()
        processes[base].send_signal(signal.SIGTERM)
        assert await _exit_status(base, 5) == 0
        assert time.monotonic() - signalled < 1.5


async def test_sigint_drains_too(alice: Member) -> None:
    with daphne() as base:
        async with connect(ws_url(base, query=auth_query(alice))) as client:
            processes[base].send_signal(signal.SIGINT)
            assert await _close_code(client) == CLOSE_GOING_AWAY
        assert await _exit_status(base, 5) == 0


async def test_the_grace_period_bounds_the_wait() -> None:
    with daphne({"GLEEPOST_SHUTDOWN_GRACE_SECS": "1.5"}) as base:
        request = await asyncio.to_thread(_start_request, base, b"email=a%40b.c&pass=never-sent")
        await asyncio.sleep(0.2)
        signalled = time.monotonic()
        processes[base].send_signal(signal.SIGTERM)
        await asyncio.sleep(1)
        assert processes[base].poll() is None  # waiting for the request
        assert await _exit_status(base, 5) == 0
        assert 1.5 <= time.monotonic() - signalled < 1.5 + CLOSE_HANDSHAKE_SECS + 1
        request.close()


async def test_a_second_signal_ends_the_wait() -> None:
    with daphne({"GLEEPOST_SHUTDOWN_GRACE_SECS": "60"}) as base:
        request = await asyncio.to_thread(_start_request, base, b"email=a%40b.c&pass=never-sent")
        await asyncio.sleep(0.2)
        processes[base].send_signal(signal.SIGTERM)
        await asyncio.sleep(0.5)
        assert processes[base].poll() is None
        again = time.monotonic()
        processes[base].send_signal(signal.SIGTERM)
        assert await _exit_status(base, 5) == 0
        assert time.monotonic() - again < 1.5
        request.close()


def test_the_shutdown_runs_in_a_context_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """A signal that comes while the reactor works for a connection: the shutdown's log lines
    must not carry that connection's id (seen in a real daphne's log: the drain's three lines
    were counted among a refused websocket's)."""
    server = GracefulServer(application=None, endpoints=["tcp:port=0"])
    ids_seen: list[tuple[str, str | None]] = []
    monkeypatch.setattr(
        server, "shut_down", lambda name: ids_seen.append((name, log_context.connection_id.get()))
    )
    scheduled: list[tuple[contextvars.Context, tuple[object, ...]]] = []

    def call_from_thread(*call: object) -> None:
        # As the asyncio loop's call_soon_threadsafe does: the call runs later, in a copy of
        # the context it was scheduled from.
        scheduled.append((contextvars.copy_context(), call))

    monkeypatch.setattr(shutdown.reactor, "callFromThread", call_from_thread)
    with log_context.ids_bound(connection="a connection's id"):
        server.on_signal(signal.SIGTERM, None)
    for context, (function, *args) in scheduled:
        assert callable(function)
        context.run(function, *args)
    assert ids_seen == [("SIGTERM", None)]
