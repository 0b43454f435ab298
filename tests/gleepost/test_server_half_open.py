"""Half-open connections (a phone that lost the network) are found by ping and cleaned up.

daphne pings an idle websocket every ``--ping-interval`` seconds and drops it when no pong comes
within ``--ping-timeout`` (``scripts/serve``: 20 and 30). Here a client completes the handshake
and then goes silent — it answers nothing, like a peer that vanished — and the server closes it.
"""

from __future__ import annotations

import base64
import os
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.conftest import Member
from tests.servers import daphne

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def silent_websocket(base: str, member: Member) -> socket.socket:
    """Open a websocket by hand, then never read or answer again."""
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/v1/ws?id={member.id}&token={member.token} HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> bool:
    """Read what the server sends; True when it ended the connection within ``timeout``."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        return True  # aborted: what a vanished peer gets
    except TimeoutError:
        return False
    return True


def test_silent_client_is_dropped_after_the_ping_timeout(alice: Member) -> None:
    with daphne(extra_args=("--ping-interval", "1", "--ping-timeout", "2")) as base:
        sock = silent_websocket(base, alice)
        started = time.monotonic()
        time.sleep(4.5)  # silent: no pong to the ping sent after 1 s
        assert read_until_closed(sock, timeout=10)
        # Dropped by the server's ping check (ping at ~1 s, no pong by ~3 s), not by the test.
        assert time.monotonic() - started < 10


def test_silent_client_stays_while_no_ping_is_due(alice: Member) -> None:
    """The control case: with the default 20 s interval the same silence is not yet a fault."""
    with daphne() as base:
        sock = silent_websocket(base, alice)
        time.sleep(4.5)
        assert not read_until_closed(sock, timeout=0.5)
