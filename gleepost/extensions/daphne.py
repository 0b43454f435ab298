"""daphne's Python classes, which it does not document (its command line is its API).

Two changes hold however daphne is started (gleepost.asgi installs them, before daphne builds
its access log or its first request); the rest is the launcher's, ``python -m gleepost.server``.

- **Access log, credentials redacted** (row 9). daphne writes its access log itself, not
  through logging, and each line holds the URI with its query string, where clients may send
  ``?id=&token=`` and ``pass=``. ``install()`` wraps ``AccessLogGenerator.write_entry``, through
  which daphne writes every line, so that each string it is given is redacted first. Under the
  launcher the same wrap writes each line as a record of ``gleepost.access`` (text or JSON, with
  the request's or connection's id: ``write_access_log_with``) instead of daphne's text. No
  token or password in any log (tests/gleepost/extensions/test_daphne_access.py starts daphne
  each way); no benchmark figure. Retired by: daphne writing its access log through logging
  (django/daphne#473, for #116), where a filter of LOGGING would do both.
- **Request bodies left to Django** (row 34). ``WebRequest.__init__`` is wrapped to pass
  Twisted's ``parsePOSTFormSubmission=False``: Twisted answered a multipart body it could not
  parse (``--b--``) with a bare 400, no body, no ``X-Request-ID``, before the application ran
  (tests/gleepost/test_schemathesis.py); Django now refuses it with the API's JSON 400. No
  benchmark figure. Retired by: daphne building its requests with that flag itself.
- **The launcher's server** (rows 1, 5, 6, 7): ``Server`` gives gleepost.shutdown and
  gleepost.server what they change in daphne's ``Server`` under names of ours: its listening
  ports, a hook before the reactor shuts down (daphne's ``kill_all_applications`` trigger), the
  connections it tracks (``connections``: ``application_instance``, ``disconnected``), its
  signal handlers, and a context the application is created in (the request's id). The graceful
  drain is a correctness property (1001, requests finish: tests/gleepost/test_shutdown.py), no
  benchmark figure. It also creates a websocket's application with a ``ChannelQueue`` for what
  the client sends (a copy of ``create_application``): ``.venv/bin/python bench/memory.py
  --no-trace --counts 10000``, 32.7 → 29.2 KiB per idle connection (-11%). Retired by: a drain
  in daphne (django/daphne#38 asked for websockets closed on SIGTERM; it was closed in 2016 as
  done by Twisted, which drops them instead: no open issue) and the input queue's class chosen
  by the server.
- **The launcher's websocket protocol** (rows 3, 4): ``WebSocketProtocol`` is installed as
  ``WebSocketFactory.protocol``; it runs daphne's callbacks in the connection's log context (its
  id on every line) and asks its subclass before each frame is sent (``may_send``: the 4009
  slow-client bound, gleepost.server; docs/reliability.md, "50 clients stop reading": 50/50
  closed with 4009; healthy client p50/p99 177/484 ms alone, 215/675 ms beside the 50, printed
  by ``.venv/bin/pytest -s tests/gleepost/test_server_slow_clients.py``). Retired by: a bound on
  what daphne buffers per websocket (no upstream issue filed yet).
- **Relied on without a name** (row 10): ``Server.handle_reply`` awaits nothing, so a send
  completes in its first step (realtime.dispatch.SerialDispatcher.send_without_waiting).

Relies on: daphne 4.2.3; tests/gleepost/extensions/test_daphne_contract.py,
test_daphne_access.py and test_daphne_body.py name each attribute and compare each copied
method with a digest of its source.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import daphne.cli
import daphne.http_protocol
import daphne.server
import daphne.ws_protocol
from daphne.access import AccessLogGenerator
from twisted.internet import defer

from gleepost import log_context
from gleepost.extensions import autobahn
from gleepost.redaction import redact
from realtime.channel_queue import ChannelQueue
from realtime.close_codes import CLOSE_GOING_AWAY

# Access log.


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One line of daphne's access log, its strings redacted: ``request`` is ``"GET /path"``
    or ``"WSCONNECT /path"``; ``status`` and ``size`` are an HTTP response's."""

    client: str | None
    request: str
    status: int | None
    size: int | None


# Writes an entry to the access log's stream instead of daphne's text (the launcher's).
AccessWriter = Callable[[Any, AccessEntry], None]
_access_writer: AccessWriter | None = None
_WRITE_ENTRY = inspect.signature(AccessLogGenerator.write_entry)


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def redacting(write_entry: Callable[..., None]) -> Callable[..., None]:
    """``write_entry`` with every string it is given (the request line above all) redacted, or
    the entry handed to the writer given to ``write_access_log_with``."""

    @functools.wraps(write_entry)
    def write_redacted_entry(self: Any, *args: Any, **kwargs: Any) -> None:
        args = tuple(_redacted(value) for value in args)
        kwargs = {name: _redacted(value) for name, value in kwargs.items()}
        if _access_writer is None:
            write_entry(self, *args, **kwargs)
            return
        # daphne passes every argument by name; binding the signature (for a positional
        # call) cost ~0.1 ms an entry, two entries per handshake.
        given = kwargs if not args else _WRITE_ENTRY.bind(self, *args, **kwargs).arguments
        entry = AccessEntry(
            given["host"], given["request"], given.get("status"), given.get("length")
        )
        _access_writer(self.stream, entry)

    write_redacted_entry.redacts_credentials = True  # type: ignore[attr-defined]
    return write_redacted_entry


def access_log_installed() -> bool:
    """True when daphne's access log redacts credentials in this process."""
    return getattr(AccessLogGenerator.write_entry, "redacts_credentials", False)


def write_access_log_with(writer: AccessWriter | None) -> None:
    """Hand each access log entry to ``writer(stream, entry)`` (None: daphne's own text)."""
    global _access_writer
    _access_writer = writer


# Request bodies.


def unparsed(init: Callable[..., None]) -> Callable[..., None]:
    """``WebRequest.__init__`` that leaves the body to the application."""

    @functools.wraps(init)
    def init_without_form_parsing(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **{**kwargs, "parsePOSTFormSubmission": False})

    init_without_form_parsing.leaves_body_unparsed = True  # type: ignore[attr-defined]
    return init_without_form_parsing


def bodies_installed() -> bool:
    """True when daphne's requests leave their bodies unparsed in this process."""
    return getattr(daphne.http_protocol.WebRequest.__init__, "leaves_body_unparsed", False)


def install() -> None:
    """Redact daphne's access log and leave request bodies to Django (once per process)."""
    if not access_log_installed():
        AccessLogGenerator.write_entry = redacting(AccessLogGenerator.write_entry)
    if not bodies_installed():
        request = daphne.http_protocol.WebRequest
        request.__init__ = unparsed(request.__init__)


# The launcher's server.


class Connection(NamedTuple):
    """A connection daphne tracks: its protocol, whether it is a websocket, whether it is
    still open, and its application instance (None until created)."""

    protocol: Any
    websocket: bool
    open: bool
    application: asyncio.Future[Any] | None


class Server(daphne.server.Server):
    """daphne's ``Server``, changed through the hooks a subclass overrides (module docstring)."""

    # True: daphne installs no signal handlers; the subclass does, once the reactor runs.
    own_signal_handlers = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listening_ports: list[Any] = []

    @property
    def verbose(self) -> bool:
        """daphne's ``-v 2`` or more (below it, daphne discards Twisted's log)."""
        return bool(self.verbosity > 1)

    def starting(self) -> None:
        """Called before the reactor runs."""

    def before_shutdown(self) -> defer.Deferred[Any]:
        """The reactor waits for this before it shuts down (daphne's: cancel applications)."""
        return defer.maybeDeferred(super().kill_all_applications)

    @contextlib.contextmanager
    def application_context(self, scope: dict[str, Any]) -> Iterator[None]:
        """Around the creation of a connection's application: its task copies the context."""
        yield

    def stop_serving(self) -> None:
        """Stop the reactor: ``before_shutdown`` runs first."""
        self.stop()

    def tracked_connections(self) -> list[Connection]:
        """Every connection daphne tracks now, open or with an application still running."""
        return [
            Connection(
                protocol,
                isinstance(protocol, daphne.ws_protocol.WebSocketProtocol),
                "disconnected" not in details,
                details.get("application_instance"),
            )
            for protocol, details in list(self.connections.items())
        ]

    # daphne's names.

    def run(self) -> None:
        if self.own_signal_handlers:
            self.signal_handlers = False
        self.starting()
        super().run()

    def listen_success(self, port: Any) -> None:
        self.listening_ports.append(port)
        super().listen_success(port)

    def kill_all_applications(self) -> defer.Deferred[Any]:
        return self.before_shutdown()

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        with self.application_context(scope):
            if scope.get("type") == "websocket":
                return self._create_websocket_application(protocol, scope)
            return super().create_application(protocol, scope)

    def _create_websocket_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        """daphne 4.2's ``create_application`` with a ``ChannelQueue`` for what the client
        sends instead of an ``asyncio.Queue``: its three deques and Event are ~3 KiB that every
        open websocket holds, while most of them receive nothing for hours. daphne only calls
        ``put_nowait`` and ``get`` on it."""
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


# The launcher's websocket protocol.


class WebSocketProtocol(daphne.ws_protocol.WebSocketProtocol):
    """daphne's websocket protocol, its callbacks run with the connection's id bound, the
    close code the server sent remembered, and each frame sent only if ``may_send``."""

    # Set at the handshake; every log record about this connection carries it.
    connection_id: str | None = None
    # The code of the close frame the server sent first (None: it sent none, or replied).
    # Known from ``sendClose`` and ``close_going_away``; daphne's 1011 after an application
    # error bypasses both, and is logged as the client's echo of it.
    close_code_sent: int | None = None

    def may_send(self) -> bool:
        """Asked before each frame the application sends; False drops it."""
        return True

    def on_close(self, code: int | None) -> None:
        """Called when the connection has closed; ``code`` is the client's close code (1006
        when it sent none)."""

    # autobahn's documented callbacks, as daphne implements them.

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
                self.on_close(code)
            super().onClose(wasClean, code, reason)

    def sendClose(self, code: int | None = None, reason: str | None = None) -> None:
        if self.close_code_sent is None and self.state == self.STATE_OPEN:
            self.close_code_sent = 1000 if code is None else code
        super().sendClose(code, reason)

    # daphne's names.

    def serverSend(self, content: Any, binary: bool = False) -> None:
        if self.may_send():
            super().serverSend(content, binary)


# The launcher's HTTP requests.


class WebRequest(daphne.http_protocol.WebRequest):
    """daphne's HTTP request, which asks ``may_write`` before each chunk of an event stream's
    body (``text/event-stream``, realtime.consumer.streams) and drops the chunk if not. Other
    responses, a file download included, are written as daphne writes them."""

    # Whether the response started is an event stream.
    event_stream = False

    def may_write(self) -> bool:
        """Asked before each chunk of an event stream's body but the last; False drops it."""
        return True

    # daphne's names.

    def handle_reply(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "http.response.start":
            self.event_stream = any(
                name.lower() == b"content-type" and bytes(value).startswith(b"text/event-stream")
                for name, value in message.get("headers", ())
            )
        elif (
            kind == "http.response.body"
            and self.event_stream
            and message.get("more_body", False)
            and not self.may_write()
        ):
            return
        super().handle_reply(message)


def close_going_away(protocol: Any, reason: bytes) -> None:
    """Send a websocket 1001 (going away), which autobahn's ``sendClose`` refuses."""
    if isinstance(protocol, WebSocketProtocol) and protocol.close_code_sent is None:
        protocol.close_code_sent = CLOSE_GOING_AWAY
    autobahn.send_going_away(protocol, reason)


def run_launcher(
    server_class: type[Server],
    protocol_class: type[WebSocketProtocol],
    request_class: type[WebRequest] = WebRequest,
) -> None:
    """daphne's command line, with ``server_class`` serving, ``protocol_class`` speaking
    websocket and ``request_class`` answering HTTP (its one way to choose each: the factory
    builds each HTTP connection with the module's ``WebRequest``)."""
    daphne.cli.CommandLineInterface.server_class = server_class
    daphne.ws_protocol.WebSocketFactory.protocol = protocol_class
    daphne.http_protocol.WebRequest = request_class
    daphne.cli.CommandLineInterface.entrypoint()
