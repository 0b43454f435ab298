"""daphne that shuts down gracefully on SIGTERM and SIGINT (README, Operating the service).

daphne stops the Twisted reactor at once: the listening sockets and every connection are dropped
together, so websocket clients see 1006 and cannot tell a deploy from a crash, and HTTP requests
under way are cut off. Here the reactor's shutdown first drains, for at most
``GLEEPOST_SHUTDOWN_GRACE_SECS`` (gleepost.conf, 5 s by default):

1. the listening sockets close: new connections are refused and go to another process;
2. every open websocket is closed with 1001 (going away): its client reconnects at once, to
   another process, and resumes its stream there (docs/websocket-protocol.md, Close codes);
   every SSE stream ends its response, and every long-poll answers ``{}``, for the same
   (realtime.consumer.streams);
3. HTTP requests under way finish, and each connection's application instance ends (a consumer
   leaves its groups and frees its connection slot).

Then what is left is cancelled and the process exits with status 0. A second signal ends the
wait at once. What this needs of daphne and autobahn beyond their documented APIs is in
gleepost.extensions.daphne and gleepost.extensions.autobahn (docs/frameworks.md).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from types import FrameType
from typing import Any, cast

from twisted.internet import defer
from twisted.internet import reactor as _reactor

from gleepost import log_context
from gleepost.conf import gp_settings
from gleepost.extensions import autobahn, daphne
from realtime.close_codes import CLOSE_GOING_AWAY

logger = logging.getLogger(__name__)

# How often the drain looks whether everything has closed.
DRAIN_POLL_SECS = 0.05
# A client that does not answer the 1001 close frame is cut off after this long.
CLOSE_HANDSHAKE_SECS = 1.0
# Application instances still running after the grace period get this long to end once cancelled.
CANCEL_WAIT_SECS = 1.0

# The stubs type the installed reactor as an interface; it is the asyncio reactor.
reactor = cast(Any, _reactor)


def close_going_away(protocol: Any) -> None:
    """Send an open websocket the 1001 close frame. One still in its handshake is left until
    the application accepts it (the next look closes it), or refuses it."""
    if protocol.state != protocol.STATE_OPEN:
        return  # closing already, closed, or not yet open
    autobahn.set_close_handshake_timeout(protocol, CLOSE_HANDSHAKE_SECS)
    daphne.close_going_away(protocol, b"server shutting down")


def _in_use(connection: daphne.Connection) -> bool:
    """A connection daphne tracks that is still open, or whose application has not ended."""
    application = connection.application
    return connection.open or (application is not None and not application.done())


class GracefulServer(daphne.Server):
    """daphne's Server whose shutdown drains (see the module's docstring)."""

    # Our own signal handlers instead of Twisted's, which cannot tell a second signal from
    # the first (and would log an error trying to stop a stopping reactor).
    own_signal_handlers = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = False
        # Set by a second signal: stop waiting for connections to close.
        self.hurry = False
        self.drained: defer.Deferred[None] | None = None
        self.drain_started = self.deadline = 0.0
        # Read here, not at import: daphne creates the server after importing the application,
        # which sets Django up.
        self.grace_secs: float = gp_settings.SHUTDOWN_GRACE_SECS

    def starting(self) -> None:
        reactor.callWhenRunning(self.install_signal_handlers)

    def install_signal_handlers(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        # A signal handler may interrupt the reactor anywhere: act from its next turn. The
        # handler runs in whatever context the reactor was in when the signal came (a
        # connection's, inside gleepost.server's ids_bound), which the call would copy.
        log_context.run_unbound(reactor.callFromThread, self.shut_down, signal.Signals(signum).name)

    def shut_down(self, signal_name: str) -> None:
        if self.stopping:
            logger.warning("%s again: closing every connection now", signal_name)
            self.hurry = True
            self.finish_drain()
            return
        self.stopping = True
        logger.info(
            "%s: shutting down, waiting at most %.1f s for connections to close",
            signal_name,
            self.grace_secs,
        )
        self.stop_serving()

    def before_shutdown(self) -> defer.Deferred[Any]:
        """Before the reactor shuts down: drain first, then cancel the rest."""
        drained = self.drain()
        drained.addCallback(lambda _: self.cancel_applications())
        return drained

    def drain(self) -> defer.Deferred[None]:
        self.stopping = True
        self.drained = defer.Deferred()
        self.drain_started = time.monotonic()
        self.deadline = self.drain_started + self.grace_secs
        stopped = [defer.maybeDeferred(port.stopListening) for port in self.listening_ports]
        self.listening_ports = []
        in_use = [c for c in self.tracked_connections() if _in_use(c)]
        websockets = [c for c in in_use if c.websocket]
        still_open = sum(c.open for c in websockets)
        # Imported here: the application (and Django with it) is set up after this module.
        from realtime.consumer.streams import open_streams

        streams = open_streams.end_all()
        logger.info(
            "refusing new connections; closing %d websocket(s) with %d and %d event stream(s);"
            " waiting for %d request(s) and %d closed websocket(s) to finish",
            still_open,
            CLOSE_GOING_AWAY,
            streams,
            len(in_use) - len(websockets),
            len(websockets) - still_open,
        )
        defer.DeferredList(stopped).addCallback(lambda _: self.poll_drain())
        return self.drained

    def poll_drain(self) -> None:
        if self.drained is None or self.drained.called:
            return
        in_use = [c for c in self.tracked_connections() if _in_use(c)]
        for connection in in_use:
            if connection.websocket:
                close_going_away(connection.protocol)
        if self.hurry:
            self.finish_drain()
        elif not in_use:
            logger.info("all connections closed in %.2f s", time.monotonic() - self.drain_started)
            self.finish_drain()
        elif time.monotonic() >= self.deadline:
            logger.warning(
                "%d connection(s) still open after %.1f s; closing them",
                len(in_use),
                self.grace_secs,
            )
            self.finish_drain()
        else:
            reactor.callLater(DRAIN_POLL_SECS, self.poll_drain)

    def finish_drain(self) -> None:
        if self.drained is not None and not self.drained.called:
            self.drained.callback(None)

    def cancel_applications(self) -> defer.Deferred[Any]:
        """daphne's kill_all_applications, for instances that may not exist yet (a request
        whose body was still arriving), and bounded in time."""
        pending = []
        for connection in self.tracked_connections():
            application = connection.application
            if application is not None and not application.done():
                application.cancel()
                pending.append(application)
        if pending:
            logger.info("cancelled %d application instance(s)", len(pending))
        waited = defer.Deferred.fromFuture(asyncio.gather(*pending, return_exceptions=True))
        waited.addTimeout(CANCEL_WAIT_SECS, reactor)
        waited.addErrback(lambda _: None)
        return waited
