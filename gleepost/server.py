"""Run daphne as this service needs it: ``python -m gleepost.server`` takes daphne's arguments.

What daphne does not do on its own:

- Its access log is written to a stream, not as log records: here it is written as records of
  ``gleepost.access``, in the process's log format (gleepost.logs: text as daphne writes it, or
  JSON), with the request's or connection's id. Credentials in the URI (``?id=&token=``,
  ``pass=``) are redacted by the handler's filter, as gleepost.extensions.daphne_access redacts
  them from daphne's own access log when daphne is started without this module.
- Each HTTP request gets its id (``X-Request-ID``, gleepost.log_context) and each websocket
  connection its own before the application runs, so every log line about either carries it.
- On SIGTERM it drains before exiting: gleepost.shutdown.
- A websocket client that stops reading makes daphne buffer what is sent to it without bound.
  Here each connection's unsent bytes are bounded (``GLEEPOST_MAX_UNSENT_BYTES_PER_CONNECTION``,
  1 MiB by default): over the bound for longer than ``SLOW_CLIENT_GRACE_SECS`` (or over
  ``HARD_LIMIT_FACTOR`` times it at all) the connection is closed with 4009, so the client
  reconnects and resumes (its stream events are replayed from the history; none is dropped
  silently), and other clients never wait on it. A client that does not read the close either
  is cut off after ``GLEEPOST_SLOW_CLIENT_ABORT_SECS`` (5 s). The kernel's send buffer of each
  websocket is fixed (``GLEEPOST_WEBSOCKET_SEND_BUFFER_BYTES``, 128 KiB) so the bound is what
  counts. These ``GLEEPOST_`` variables are settings of gleepost.conf.

(The listen backlog is daphne's own: the start commands pass a Twisted endpoint string,
``-e tcp:port=…:interface=…:backlog=1024``, where ``-b``/``-p`` would get Twisted's 50.)
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import time
from datetime import datetime
from typing import Any, cast

import daphne.cli
import daphne.ws_protocol
from daphne.access import AccessLogGenerator
from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    STDLibLogObserver,
    globalLogPublisher,
)

from gleepost import log_context
from gleepost.conf import gp_settings
from gleepost.logs import JsonFormatter, checked_log_format, make_handler
from gleepost.redaction import redact
from gleepost.shutdown import GracefulServer
from realtime.channel_queue import ChannelQueue
from realtime.close_codes import CLOSE_TOO_SLOW, NO_CLOSE_FRAME

logger = logging.getLogger("gleepost.server")  # also when run as __main__

# The settings of this module (gleepost.conf: MAX_UNSENT_BYTES_PER_CONNECTION,
# WEBSOCKET_SEND_BUFFER_BYTES, SLOW_CLIENT_ABORT_SECS) are read where they are
# used, not at import: daphne imports the application, which sets Django up, after this module.

# Over the bound for this long without draining below it again: the client is not reading.
# (A burst — a resume replaying thousands of events at once — passes the bound briefly too,
# and drains at once when the client reads.)
SLOW_CLIENT_GRACE_SECS = 2.0
# Over this many times the bound, the connection is closed at once, grace or not.
HARD_LIMIT_FACTOR = 8


ACCESS_LOGGER = "gleepost.access"
_WEBSOCKET_ACTIONS = {
    "connecting": "WSCONNECTING",
    "rejected": "WSREJECT",
    "connected": "WSCONNECT",
    "disconnected": "WSDISCONNECT",
}


class NcsaFormatter(logging.Formatter):
    """An access log record as daphne writes its lines (NCSA-like), for the text format."""

    def format(self, record: logging.LogRecord) -> str:
        fields = vars(record)
        date = datetime.fromtimestamp(record.created).strftime("%d/%b/%Y:%H:%M:%S")
        status, size = fields.get("status"), fields.get("size")
        return (
            f'{fields.get("client") or "-"} - - [{date}] "{record.getMessage()}"'
            f" {status or '-'} {size or '-'}"
        )


class AccessLog(AccessLogGenerator):
    """daphne's access log as records of ``gleepost.access``, written to the stream daphne
    chose (stdout, or ``--access-log``): its lines as before in text, one object each in JSON.
    Each record runs where daphne reports the action, in the request's or connection's
    context, so it carries its id. Credentials in the URI are redacted by the handler's filter.
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        json_format = checked_log_format(gp_settings.LOG_FORMAT) == "json"
        formatter = JsonFormatter() if json_format else NcsaFormatter()
        self.logger.handlers = [make_handler(stream, formatter)]

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        fields: dict[str, Any] = {"client": details["client"], "path": redact(details["path"])}
        if protocol == "http" and action == "complete":
            fields.update(
                method=details["method"],
                status=details["status"],
                size=details["size"],
                duration_ms=round(details["time_taken"] * 1000, 1),
            )
            request = f"{details['method']} {fields['path']}"
        elif protocol == "websocket" and action in _WEBSOCKET_ACTIONS:
            request = f"{_WEBSOCKET_ACTIONS[action]} {fields['path']}"
        else:
            return
        self.logger.info(request, extra=fields)


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
    # Set at the handshake; every log record about this connection carries it.
    connection_id: str | None = None
    # gp_settings.MAX_UNSENT_BYTES_PER_CONNECTION, read when the connection is made: it is
    # compared on every send.
    max_unsent_bytes: int

    def onConnect(self, request: Any) -> Any:
        # daphne creates the application instance in here: its task inherits the id.
        self.connection_id = log_context.new_id()
        with log_context.ids_bound(connection=self.connection_id):
            return super().onConnect(request)

    def onOpen(self) -> None:
        with log_context.ids_bound(connection=self.connection_id):
            super().onOpen()

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        with log_context.ids_bound(connection=self.connection_id):
            if self.connection_id is not None:
                self._log_close(wasClean)
            super().onClose(wasClean, code, reason)

    def _log_close(self, clean: bool) -> None:
        by_server = bool(self.closedByMe)
        code = self.localCloseCode if by_server else self.remoteCloseCode
        logger.info(
            "websocket closed by the %s with %s",
            "server" if by_server else "client",
            code or f"no close frame ({NO_CLOSE_FRAME})",
            extra={
                "close_code": code or NO_CLOSE_FRAME,
                "closed_by": "server" if by_server else "client",
            },
        )

    def connectionMade(self) -> None:
        self.max_unsent_bytes = gp_settings.MAX_UNSENT_BYTES_PER_CONNECTION
        super().connectionMade()
        handle = getattr(self.transport, "getHandle", None)
        send_buffer = gp_settings.WEBSOCKET_SEND_BUFFER_BYTES
        if handle is not None and send_buffer > 0:
            handle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        if _plain_tcp(self.transport):
            self.transport.write = _WriteNow(self.transport)

    def serverSend(self, content: Any, binary: bool = False) -> None:
        if self.too_slow or self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            # Closing (too slow, or the server is going away): autobahn would refuse the
            # frame; the client resumes and gets its stream events from the history.
            return
        if self._not_reading(unsent_bytes(self.transport)):
            self._close_too_slow()
            return
        super().serverSend(content, binary)

    def _not_reading(self, unsent: int) -> bool:
        if unsent <= self.max_unsent_bytes:
            self.over_bound_since = None
            return False
        if unsent > HARD_LIMIT_FACTOR * self.max_unsent_bytes:
            return True
        now = time.monotonic()
        if self.over_bound_since is None:
            self.over_bound_since = now
            # Nothing more may be sent to it for a while (the burst that filled it is over):
            # look again once the grace is over, so that a client which stopped reading is
            # closed whether or not another event comes.
            from twisted.internet import reactor

            cast(Any, reactor).callLater(SLOW_CLIENT_GRACE_SECS + 0.1, self._close_if_still_over)
        return now - self.over_bound_since > SLOW_CLIENT_GRACE_SECS

    def _close_if_still_over(self) -> None:
        if self.too_slow or self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            return
        if self.transport is not None and self._not_reading(unsent_bytes(self.transport)):
            self._close_too_slow()

    def _close_too_slow(self) -> None:
        self.too_slow = True
        logger.warning(
            "closing websocket %s: over %d unsent bytes",
            self.client_addr,
            self.max_unsent_bytes,
        )
        # autobahn drops a connection whose peer does not answer a close within a second; give
        # this one until the abort below to read its backlog and see why it was closed.
        abort_secs = gp_settings.SLOW_CLIENT_ABORT_SECS
        self.closeHandshakeTimeout = abort_secs
        self.sendClose(code=CLOSE_TOO_SLOW)
        from twisted.internet import reactor

        # The stubs type the installed reactor as an interface; it is the asyncio reactor.
        cast(Any, reactor).callLater(abort_secs, self._abort_if_open)

    def _abort_if_open(self) -> None:
        if self.transport is not None and self.transport.connected:
            self.transport.abortConnection()


class GleepostServer(GracefulServer):
    """daphne's server that shuts down gracefully and gives each HTTP request its id."""

    def run(self) -> None:
        if self.verbosity <= 1:
            # daphne discards Twisted's log at this verbosity, errors included: keep warnings
            # and errors, as records of the "twisted" logger in the process's format.
            # (The stubs miss that these classes provide the zope interfaces asked for.)
            observer = cast(Any, STDLibLogObserver("twisted"))
            warnings_up = cast(Any, LogLevelFilterPredicate(LogLevel.warn))
            globalLogPublisher.addObserver(cast(Any, FilteringLogObserver(observer, [warnings_up])))
        super().run()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") == "websocket":
            return self._create_websocket_application(protocol, scope)
        if scope.get("type") != "http":
            return super().create_application(protocol, scope)
        header = dict(scope.get("headers", [])).get(b"x-request-id")
        # The application's task is created in here and inherits the id (gleepost.request_id
        # echoes it); the access log line, written from that task, carries it too.
        with log_context.ids_bound(request=log_context.request_id_from(header)):
            return super().create_application(protocol, scope)

    def _create_websocket_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        """daphne 4.2's ``create_application`` with a ``ChannelQueue`` for what the client
        sends instead of an ``asyncio.Queue``: its three deques and Event are ~3 KiB that every
        open websocket holds, while most of them receive nothing for hours (bench/README.md,
        "Memory per connection"). daphne only calls ``put_nowait`` and ``get`` on it."""
        assert "application_instance" not in self.connections[protocol]
        input_queue = ChannelQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope,
            receive=input_queue.get,
            send=functools.partial(self.handle_reply, protocol),
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop()
        )
        return input_queue


def main() -> None:
    daphne.cli.AccessLogGenerator = AccessLog
    daphne.cli.CommandLineInterface.server_class = GleepostServer
    daphne.ws_protocol.WebSocketFactory.protocol = BoundedWebSocketProtocol
    daphne.cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
