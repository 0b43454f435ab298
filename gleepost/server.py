"""Run daphne as this service needs it: ``python -m gleepost.server`` takes daphne's arguments.

What daphne does not do on its own:

- Its access log is written to a stream, not as log records: here it is written as records of
  ``gleepost.access``, in the process's log format (gleepost.logs: text as daphne writes it, or
  JSON), with the request's or connection's id. Credentials in the URI (``?id=&token=``,
  ``pass=``) are redacted however daphne is started (gleepost.extensions.daphne).
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
  counts. These ``GLEEPOST_`` variables are settings of gleepost.conf. An SSE stream
  (realtime.consumer.streams) has the same bound; having no close code, it is ended instead
  (``BoundedWebRequest``), and its EventSource resumes with Last-Event-ID.

(The listen backlog is daphne's own: the start commands pass a Twisted endpoint string,
``-e tcp:port=…:interface=…:backlog=1024``, where ``-b``/``-p`` would get Twisted's 50.)
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol, cast

from twisted.logger import (
    FilteringLogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    STDLibLogObserver,
    globalLogPublisher,
)

from gleepost import log_context
from gleepost.conf import gp_settings
from gleepost.extensions import autobahn, daphne, twisted
from gleepost.extensions.twisted import unsent_bytes
from gleepost.logs import JsonFormatter, checked_log_format, make_handler
from gleepost.shutdown import GracefulServer
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


class AccessLog:
    """daphne's access log as records of ``gleepost.access``, written to the stream daphne
    chose (stdout, or ``--access-log``): its lines as before in text, one object each in JSON.
    Each record is written where daphne reports the action, in the request's or connection's
    context, so it carries its id. daphne's entry comes with its credentials redacted
    (gleepost.extensions.daphne); the handler's filter redacts the rest of the record."""

    def __init__(self) -> None:
        self.stream: Any = None
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)

    def __call__(self, stream: Any, entry: daphne.AccessEntry) -> None:
        if stream is not self.stream:
            json_format = checked_log_format(gp_settings.LOG_FORMAT) == "json"
            formatter = JsonFormatter() if json_format else NcsaFormatter()
            self.logger.handlers = [make_handler(stream, formatter)]
            self.stream = stream
        verb, _, path = entry.request.partition(" ")
        fields: dict[str, Any] = {"client": entry.client, "path": path}
        if entry.status is not None:
            fields.update(method=verb, status=entry.status, size=entry.size)
        self.logger.info(entry.request, extra=fields)


class Bounded(Protocol):
    """A connection whose unsent bytes are bounded (``not_reading``)."""

    max_unsent_bytes: int
    # When the unsent bytes last went over the bound (None while under it).
    over_bound_since: float | None


def not_reading(connection: Bounded, unsent: int, look_again: Callable[[], None]) -> bool:
    """Whether a connection with ``unsent`` bytes waiting counts as not reading: over its bound
    for longer than the grace, or far over it at all. ``look_again`` is called once the grace is
    over, so that a client which stopped reading is found whether or not more is sent."""
    if unsent <= connection.max_unsent_bytes:
        connection.over_bound_since = None
        return False
    if unsent > HARD_LIMIT_FACTOR * connection.max_unsent_bytes:
        return True
    now = time.monotonic()
    if connection.over_bound_since is None:
        connection.over_bound_since = now
        # Nothing more may be sent to it for a while (the burst that filled it is over).
        from twisted.internet import reactor

        cast(Any, reactor).callLater(SLOW_CLIENT_GRACE_SECS + 0.1, look_again)
    return now - connection.over_bound_since > SLOW_CLIENT_GRACE_SECS


def fix_send_buffer(transport: Any) -> None:
    """The kernel's send buffer of a connection, fixed (``WEBSOCKET_SEND_BUFFER_BYTES``) so that
    the bound counts, not the kernel's auto-tuning."""
    handle = getattr(transport, "getHandle", None)
    send_buffer = gp_settings.WEBSOCKET_SEND_BUFFER_BYTES
    if handle is not None and send_buffer > 0:
        handle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)


def _abort_if_open(transport: Any) -> None:
    if transport is not None and transport.connected:
        transport.abortConnection()


class BoundedWebSocketProtocol(daphne.WebSocketProtocol):
    """daphne's websocket protocol with a bound on what waits to be sent to the client."""

    too_slow = False
    over_bound_since: float | None = None
    # gp_settings.MAX_UNSENT_BYTES_PER_CONNECTION, read when the connection is made: it is
    # compared on every send.
    max_unsent_bytes: int

    def on_close(self, code: int | None) -> None:
        by_server = self.close_code_sent is not None
        closed_with = self.close_code_sent if by_server else code
        logger.info(
            "websocket closed by the %s with %s",
            "server" if by_server else "client",
            closed_with or f"no close frame ({NO_CLOSE_FRAME})",
            extra={
                "close_code": closed_with or NO_CLOSE_FRAME,
                "closed_by": "server" if by_server else "client",
            },
        )

    def connectionMade(self) -> None:
        self.max_unsent_bytes = gp_settings.MAX_UNSENT_BYTES_PER_CONNECTION
        super().connectionMade()
        fix_send_buffer(self.transport)
        twisted.write_at_once_when_idle(self.transport)

    def may_send(self) -> bool:
        if self.too_slow or self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            # Closing (too slow, or the server is going away): autobahn would refuse the
            # frame; the client resumes and gets its stream events from the history.
            return False
        if self._not_reading(unsent_bytes(self.transport)):
            self._close_too_slow()
            return False
        return True

    def _not_reading(self, unsent: int) -> bool:
        return not_reading(self, unsent, self._close_if_still_over)

    def _close_if_still_over(self) -> None:
        if self.too_slow or self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
            return
        if self.transport is not None and self._not_reading(unsent_bytes(self.transport)):
            self._close_too_slow()

    def _close_too_slow(self) -> None:
        self.too_slow = True
        peer = self.transport.getPeer()
        logger.warning(
            "closing websocket %s: over %d unsent bytes",
            [getattr(peer, "host", None), getattr(peer, "port", None)],
            self.max_unsent_bytes,
        )
        # autobahn drops a connection whose peer does not answer a close within a second; give
        # this one until the abort below to read its backlog and see why it was closed.
        abort_secs = gp_settings.SLOW_CLIENT_ABORT_SECS
        autobahn.set_close_handshake_timeout(self, abort_secs)
        self.sendClose(code=CLOSE_TOO_SLOW)
        from twisted.internet import reactor

        # The stubs type the installed reactor as an interface; it is the asyncio reactor.
        cast(Any, reactor).callLater(abort_secs, _abort_if_open, self.transport)


class BoundedWebRequest(daphne.WebRequest):
    """daphne's HTTP request with the same bound on an event stream (SSE) as on a websocket.

    An event stream has no close code: one whose client stops reading is ended (its body's last
    chunk, which the application sees as the client going away), so that EventSource, once it
    reads again, reconnects with Last-Event-ID and gets what it missed from the history; and it
    is cut off if it does not read that either, after ``GLEEPOST_SLOW_CLIENT_ABORT_SECS``."""

    too_slow = False
    over_bound_since: float | None = None
    max_unsent_bytes: int

    def may_write(self) -> bool:
        transport = self.channel.transport if self.channel is not None else None
        if not hasattr(self, "max_unsent_bytes"):  # the stream's first event
            self.max_unsent_bytes = gp_settings.MAX_UNSENT_BYTES_PER_CONNECTION
            fix_send_buffer(transport)
            # Each event a write of its own at once, as a websocket frame is (per event,
            # Twisted would register the socket for writing and write on the next turn).
            twisted.write_at_once_when_idle(transport, sequences=True)
        self._end_if_not_reading()
        return not self.too_slow

    def _end_if_not_reading(self) -> None:
        """End the stream if its client stopped reading; called before each event, and once
        more when the grace is over (``not_reading``)."""
        channel = self.channel
        if self.too_slow or self.finished or channel is None or channel.transport is None:
            return
        if not_reading(self, unsent_bytes(channel.transport), self._end_if_not_reading):
            self._end_too_slow()

    def _end_too_slow(self) -> None:
        self.too_slow = True
        transport = self.channel.transport
        logger.warning(
            "ending event stream %s: over %d unsent bytes",
            self.client_addr,
            self.max_unsent_bytes,
        )
        self.finish()
        from twisted.internet import reactor

        cast(Any, reactor).callLater(gp_settings.SLOW_CLIENT_ABORT_SECS, _abort_if_open, transport)


class GleepostServer(GracefulServer):
    """daphne's server that shuts down gracefully and gives each HTTP request its id."""

    def starting(self) -> None:
        super().starting()
        if not self.verbose:
            # daphne discards Twisted's log at this verbosity, errors included: keep warnings
            # and errors, as records of the "twisted" logger in the process's format.
            # (The stubs miss that these classes provide the zope interfaces asked for.)
            observer = cast(Any, STDLibLogObserver("twisted"))
            warnings_up = cast(Any, LogLevelFilterPredicate(LogLevel.warn))
            globalLogPublisher.addObserver(cast(Any, FilteringLogObserver(observer, [warnings_up])))

    @contextlib.contextmanager
    def application_context(self, scope: dict[str, Any]) -> Iterator[None]:
        if scope.get("type") != "http":
            yield  # a websocket's id is bound by its protocol, around this call
            return
        header = dict(scope.get("headers", [])).get(b"x-request-id")
        # The application's task is created in here and inherits the id (gleepost.request_id
        # echoes it); the access log line, written from that task, carries it too.
        with log_context.ids_bound(request=log_context.request_id_from(header)):
            yield


def main() -> None:
    daphne.write_access_log_with(AccessLog())
    daphne.run_launcher(GleepostServer, BoundedWebSocketProtocol, BoundedWebRequest)


if __name__ == "__main__":
    main()
