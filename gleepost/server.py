"""Run daphne as this service needs it: ``python -m gleepost.server`` takes daphne's arguments.

Three things daphne does not do on its own:

- Its access log writes each request's full URI, query string included, and clients may
  authenticate with ``?id=&token=`` (rest-api.md): the token (and any password) is redacted.
- A websocket client that stops reading makes daphne buffer what is sent to it without bound.
  Here each connection's unsent bytes are bounded (``GLEEPOST_MAX_UNSENT_BYTES_PER_CONNECTION``,
  1 MiB by default): over the bound for longer than ``SLOW_CLIENT_GRACE_SECS`` (or over
  ``HARD_LIMIT_FACTOR`` times it at all) the connection is closed with 4009, so the client
  reconnects and resumes (its stream events are replayed from the history; none is dropped
  silently), and other clients never wait on it. A client that does not read the close either
  is cut off after ``SLOW_CLIENT_ABORT_SECS``. The kernel's send buffer of each websocket is
  fixed (``GLEEPOST_WEBSOCKET_SEND_BUFFER_BYTES``, 128 KiB) so the bound is what counts.
- Its TCP listeners (``-b``/``-p``) use Twisted's default listen backlog of 50: when every
  client reconnects at once (after a deploy, a network blip) the handshakes beyond it are
  reset. Here the backlog is ``GLEEPOST_LISTEN_BACKLOG`` (1024; the kernel caps it at
  ``net.core.somaxconn``).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from typing import Any, cast

import daphne.cli
import daphne.ws_protocol
from daphne.access import AccessLogGenerator
from daphne.endpoints import build_endpoint_description_strings

from realtime.close_codes import CLOSE_TOO_SLOW

logger = logging.getLogger(__name__)

_SECRET_PARAMETER = re.compile(r"(?i)([?&](?:token|pass|password)=)[^&\s\"]*")

MAX_UNSENT_BYTES_PER_CONNECTION = int(
    os.environ.get("GLEEPOST_MAX_UNSENT_BYTES_PER_CONNECTION", str(1024 * 1024))
)
# The kernel's send buffer of a websocket, fixed rather than auto-tuned (up to 4 MiB on Linux):
# what a stalled client can hold up is then this plus the bound above, and the bound is
# reached while the backlog is still small.
SOCKET_SEND_BUFFER_BYTES = int(
    os.environ.get("GLEEPOST_WEBSOCKET_SEND_BUFFER_BYTES", str(128 * 1024))
)
# Over the bound for this long without draining below it again: the client is not reading.
# (A burst — a resume replaying thousands of events at once — passes the bound briefly too,
# and drains at once when the client reads.)
SLOW_CLIENT_GRACE_SECS = 2.0
# Over this many times the bound, the connection is closed at once, grace or not.
HARD_LIMIT_FACTOR = 8
# A client that does not read the 4009 close either is cut off after this long.
SLOW_CLIENT_ABORT_SECS = float(os.environ.get("GLEEPOST_SLOW_CLIENT_ABORT_SECS", "5"))
LISTEN_BACKLOG = int(os.environ.get("GLEEPOST_LISTEN_BACKLOG", "1024"))


def redact(text: str) -> str:
    """``text`` with the values of token and password query parameters replaced."""
    return _SECRET_PARAMETER.sub(r"\1[redacted]", text)


class RedactingAccessLog(AccessLogGenerator):
    def write_entry(self, host: Any, date: Any, request: str, *args: Any, **kwargs: Any) -> None:
        super().write_entry(host, date, redact(request), *args, **kwargs)


def unsent_bytes(transport: Any) -> int:
    """Bytes written to a Twisted TCP transport and not yet handed to the kernel."""
    buffered = len(getattr(transport, "dataBuffer", b"")) - getattr(transport, "offset", 0)
    return buffered + getattr(transport, "_tempDataLen", 0)


def _plain_tcp(transport: Any) -> bool:
    """A Twisted TCP connection without TLS, whose socket ``_WriteNow`` may write to."""
    return (
        isinstance(getattr(transport, "socket", None), socket.socket)
        and hasattr(transport, "dataBuffer")
        and hasattr(transport, "_tempDataBuffer")
        and getattr(transport, "TLS", False) is False
    )


class _WriteNow:
    """A transport's ``write`` that hands the data to the kernel at once when nothing is
    waiting before it, and falls back to Twisted's buffered write otherwise.

    Twisted buffers every write, registers the socket for writability, writes on the next loop
    turn and unregisters it: two epoll changes and a loop turn per websocket frame, which the
    broadcast benchmark showed as a third of daphne's time (bench/results). When the buffer is
    empty a send() now is what Twisted would do a moment later anyway; a partial send or a
    full socket leaves the rest to Twisted, so order and the unsent-bytes bound are unchanged.
    (The HTTP channel registered as the transport's producer needs no pausing for bytes that
    never enter the buffer; Twisted's write pauses it for the rest as before.)
    """

    __slots__ = ("buffered_write", "transport")

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.buffered_write = transport.write

    def __call__(self, data: bytes) -> None:
        transport = self.transport
        writable = transport.connected and not transport.disconnecting
        if data and writable and unsent_bytes(transport) == 0:
            try:
                sent = transport.socket.send(data)
            except OSError:
                # A full socket (BlockingIOError) or a broken one: Twisted's own write buffers
                # the rest, or hits the error and closes the connection.
                sent = 0
            if sent == len(data):
                return
            data = data[sent:]
        self.buffered_write(data)


class BoundedWebSocketProtocol(daphne.ws_protocol.WebSocketProtocol):
    """daphne's websocket protocol with a bound on what waits to be sent to the client."""

    too_slow = False
    # When the unsent bytes last went over the bound (None while under it).
    over_bound_since: float | None = None

    def connectionMade(self) -> None:
        super().connectionMade()
        handle = getattr(self.transport, "getHandle", None)
        if handle is not None and SOCKET_SEND_BUFFER_BYTES > 0:
            handle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER_BYTES)
        if _plain_tcp(self.transport):
            self.transport.write = _WriteNow(self.transport)

    def serverSend(self, content: Any, binary: bool = False) -> None:
        if self.too_slow:
            return  # closing: the client resumes and gets its stream events from the history
        if self._not_reading(unsent_bytes(self.transport)):
            self._close_too_slow()
            return
        super().serverSend(content, binary)

    def _not_reading(self, unsent: int) -> bool:
        if unsent <= MAX_UNSENT_BYTES_PER_CONNECTION:
            self.over_bound_since = None
            return False
        if unsent > HARD_LIMIT_FACTOR * MAX_UNSENT_BYTES_PER_CONNECTION:
            return True
        now = time.monotonic()
        if self.over_bound_since is None:
            self.over_bound_since = now
        return now - self.over_bound_since > SLOW_CLIENT_GRACE_SECS

    def _close_too_slow(self) -> None:
        self.too_slow = True
        logger.warning(
            "closing websocket %s: over %d unsent bytes",
            self.client_addr,
            MAX_UNSENT_BYTES_PER_CONNECTION,
        )
        # autobahn drops a connection whose peer does not answer a close within a second; give
        # this one until the abort below to read its backlog and see why it was closed.
        self.closeHandshakeTimeout = SLOW_CLIENT_ABORT_SECS
        self.sendClose(code=CLOSE_TOO_SLOW)
        from twisted.internet import reactor

        # The stubs type the installed reactor as an interface; it is the asyncio reactor.
        cast(Any, reactor).callLater(SLOW_CLIENT_ABORT_SECS, self._abort_if_open)

    def _abort_if_open(self) -> None:
        if self.transport is not None and self.transport.connected:
            self.transport.abortConnection()


def endpoints_with_backlog(*args: Any, **kwargs: Any) -> list[str]:
    """daphne's endpoint descriptions, each TCP one with ``LISTEN_BACKLOG``."""
    descriptions: list[str] = build_endpoint_description_strings(*args, **kwargs)
    return [
        f"{d}:backlog={LISTEN_BACKLOG}" if d.startswith("tcp:") and ":backlog=" not in d else d
        for d in descriptions
    ]


def main() -> None:
    daphne.cli.build_endpoint_description_strings = endpoints_with_backlog
    daphne.cli.AccessLogGenerator = RedactingAccessLog
    daphne.ws_protocol.WebSocketFactory.protocol = BoundedWebSocketProtocol
    daphne.cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
