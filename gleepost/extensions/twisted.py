"""Twisted's TCP write buffer, read for the slow-client bound and bypassed when it is empty.

What each private use buys (docs/frameworks.md, rows 11 and 12):

- ``unsent_bytes`` reads a connection's write buffer (``FileDescriptor.dataBuffer``, ``offset``
  and the private ``_tempDataLen``): the bytes written to a websocket and not yet handed to the
  kernel, which gleepost.server bounds (the 4009 close). A correctness bound Twisted lacks;
  docs/reliability.md, "50 clients stop reading": 50/50 closed with 4009, the healthy client's
  p50/p99 177/484 ms alone and 215/675 ms beside the 50 (printed by ``.venv/bin/pytest -s
  tests/gleepost/test_server_slow_clients.py``).
- ``write_at_once_when_idle`` replaces a plain TCP connection's ``write`` (it checks ``TLS``,
  ``socket`` and the private ``_tempDataBuffer``): a frame goes to the socket at once when
  nothing waits before it, with no epoll add/remove per frame. bench/README.md, broadcast:
  ~145 → ~111 µs of daphne CPU per delivery (-23%), ``./bench/run --scenarios broadcast
  --rates 5``.

Relies on: Twisted 26.10's ``abstract.FileDescriptor`` write buffer and ``tcp.Connection``
(tests/gleepost/extensions/test_twisted_contract.py names each attribute).
Retired by: a public "bytes buffered" on Twisted's transports (ITransport has none; asyncio's
transports have ``get_write_buffer_size``), and Twisted writing at once when its buffer is empty,
as asyncio's selector transports do (no upstream ticket filed yet).
"""

from __future__ import annotations

import socket
from typing import Any


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


def write_at_once_when_idle(transport: Any, *, sequences: bool = False) -> bool:
    """Give a plain TCP ``transport`` a ``write`` that sends at once when nothing waits
    (``_WriteNow``); True if it was given one (not over TLS, not another transport).
    ``sequences``: its ``writeSequence`` too, through which Twisted's HTTP writes each chunk
    of a chunked response body (an SSE stream's events, gleepost.server.BoundedWebRequest)."""
    if not _plain_tcp(transport):
        return False
    write_now = _WriteNow(transport)
    transport.write = write_now
    if sequences:
        transport.writeSequence = write_now.write_sequence
    return True


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

    def write_sequence(self, data: Any) -> None:
        """``writeSequence``: the pieces (a chunk's size line, the chunk, its CRLF) as one
        write, at once when nothing waits."""
        self(b"".join(data))
