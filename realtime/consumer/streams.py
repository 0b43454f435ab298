"""The HTTP transports (issue 15), for clients that cannot keep a websocket open: Server-Sent
Events (``GET /api/v1/events``) and the original long-poll (``GET /api/v1/longpoll``).

Both run the websocket's handshake, resume, delivery and access rules (realtime.consumer); only
how an event reaches the client differs, and what a client cannot send on them (no frames):

- **SSE**: ``text/event-stream``, each event ``event: <type>`` and ``data: <the websocket's
  JSON>``; a stream event (and ``resync-required``) also ``id: <epoch>:<seq>``, which a browser's
  EventSource sends back as ``Last-Event-ID`` when it reconnects, so it resumes on its own.
  Subscriptions are in the URL (``?posts=1,2&networks=4``). A refused connection gets the status
  its close code stands for (``REFUSAL_STATUS``) with the notice as a JSON body; an ended one
  gets the notice as an ``error`` event, then the end of the body.
- **Long-poll**: answers with the first event for the user as JSON, or ``{}`` after
  ``LONGPOLL_TIMEOUT_SECS``. With ``?since=&epoch=`` the first event after that position comes
  at once if there is one (replayed from the history), so a client polling in a loop with the
  last ``seq`` and ``epoch`` it got loses nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from channels.exceptions import StopConsumer

from gleepost.conf import gp_settings
from realtime import events, metrics
from realtime.auth import query_params
from realtime.close_codes import (
    CLOSE_GOING_AWAY,
    CLOSE_INVALID_CREDENTIALS,
    CLOSE_NORMAL,
    CLOSE_POLICY,
)
from realtime.consumer.resume import resume_query
from realtime.consumer.subscriptions import SubscriptionsMixin
from realtime.frames import FrameError, parse_last_event_id, parse_subscribe_query

# What a refused connection's close code is as an HTTP status.
REFUSAL_STATUS = {CLOSE_INVALID_CREDENTIALS: 401, CLOSE_POLICY: 429}
# An error event sent before anything else on a long-poll answers it as a bad request.
BAD_REQUEST = 400

_JSON = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
_EVENT_STREAM = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    # nginx buffers proxied responses unless told otherwise, per response by this header
    # (deploy/nginx/gleepost.conf turns buffering off for the path too).
    (b"x-accel-buffering", b"no"),
]
HEARTBEAT = b": heartbeat\n\n"
METHOD_NOT_ALLOWED = b'{"error":"Method not allowed"}'


class HttpTransport(SubscriptionsMixin):
    """What both HTTP transports share: a GET starts the handshake, the client going away ends
    the consumer, and the response is started once and ended once."""

    transport_name = "http"
    # Set when the request was counted (realtime.metrics), the response started, and when it
    # ended; the close code the server ended it with.
    counted: bool = False
    started_response: bool = False
    finished: bool = False
    ended_with: int | None = None

    async def http_request(self, message: dict[str, Any]) -> None:
        if message.get("more_body", False):
            return  # a body is not read: wait for its end
        if self.scope.get("method") != "GET":
            self._start(405, [*_JSON, (b"allow", b"GET")])
            self._write(METHOD_NOT_ALLOWED, last=True)
            return
        self.counted = True
        metrics.stream_opened(self.transport_name)
        await self.connect()

    async def http_disconnect(self, message: dict[str, Any]) -> None:
        await self._leave_everything()
        raise StopConsumer

    async def ended(self) -> None:
        await super().ended()
        open_streams.discard(self)
        if self.counted:
            metrics.stream_closed(self.transport_name, self.ended_with)

    async def connect(self) -> None:
        """The handshake (realtime.consumer.handshake), which every consumer composes."""
        raise NotImplementedError

    def _start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.started_response = True
        self.send_without_waiting(
            {"type": "http.response.start", "status": status, "headers": headers}
        )

    def _write(self, body: bytes, *, last: bool = False) -> None:
        if self.finished:
            return
        self.finished = last
        self.send_without_waiting(
            {"type": "http.response.body", "body": body, "more_body": not last}
        )

    async def _refuse(self, code: int, notice: str) -> None:
        self.ended_with = code
        self._start(REFUSAL_STATUS[code], _JSON)
        self._write(notice.encode(), last=True)

    def _resume_asked(self) -> tuple[int, str] | FrameError | None:
        return resume_query(self.scope)

    def heartbeat(self) -> None:
        """Keep an idle response from being timed out by a proxy, if the transport can."""

    async def realtime_conversation_changed(self, message: dict[str, Any]) -> None:
        """A conversation's participants changed: a websocket forgets what it read of it for
        typing (realtime.consumer.client_frames); these transports take no typing frames."""

    async def realtime_going_away(self, message: dict[str, Any]) -> None:
        """This process is shutting down (``open_streams.end_all``): end the response, so that the
        client comes back to another process and resumes there."""
        await self._end(CLOSE_GOING_AWAY)


class SseTransport(HttpTransport):
    """Events as Server-Sent Events."""

    transport_name = "sse"

    async def _open(self) -> None:
        self._start(200, _EVENT_STREAM)
        self._write(f"retry: {gp_settings.SSE_RETRY_MS}\n\n".encode())
        open_streams.add(self)

    def _send_text(self, text: str, event_type: str | None, seq: int | None) -> None:
        if seq is None:
            self._write(f"event: {event_type}\ndata: {text}\n\n".encode())
        else:
            self._write(f"id: {self.epoch}:{seq}\nevent: {event_type}\ndata: {text}\n\n".encode())

    async def _end(self, code: int, notice: str | None = None) -> None:
        self.ended_with = code
        open_streams.discard(self)
        if notice is not None:
            self._write(f"event: error\ndata: {notice}\n\n".encode())
        self._write(b"", last=True)

    def _resume_asked(self) -> tuple[int, str] | FrameError | None:
        """``Last-Event-ID`` (what EventSource sends when it reconnects), else the URL's
        ``?since=&epoch=``."""
        for name, value in self.scope.get("headers", ()):
            if name == b"last-event-id" and value:
                try:
                    return parse_last_event_id(bytes(value).decode("latin-1"))
                except FrameError as error:
                    return error
        return super()._resume_asked()

    async def _opened(self) -> None:
        """Subscribe to what the URL names, as a SUBSCRIBE frame would."""
        query = query_params(self.scope)
        try:
            wanted = parse_subscribe_query(
                query.get("posts", [""])[-1], query.get("networks", [""])[-1]
            )
        except FrameError as error:
            metrics.count_error("frame")
            await self._send_event(events.error_event(error.reason))
            return
        if wanted is not None:
            await self._subscribe(wanted)

    def heartbeat(self) -> None:
        if not self.finished:
            self._write(HEARTBEAT)


class LongPollTransport(HttpTransport):
    """The first event as the whole answer, or ``{}`` when none comes in time."""

    transport_name = "longpoll"
    timeout: asyncio.TimerHandle | None = None

    async def _open(self) -> None:
        # Nothing is sent until the answer. The timeout is dispatched in turn with events, so
        # one that arrives at the same moment is answered or the {} is, never both.
        self.timeout = asyncio.get_running_loop().call_later(
            gp_settings.LONGPOLL_TIMEOUT_SECS,
            lambda: self.dispatcher.dispatch_soon({"type": "realtime.poll_timeout"}, self.dispatch),
        )
        open_streams.add(self)

    def _send_text(self, text: str, event_type: str | None, seq: int | None) -> None:
        # Only the first event answers; later ones are dropped here, and a client that polls
        # again from this one's seq gets the stream's from the history.
        if not self.started_response:
            self._answer(BAD_REQUEST if event_type == "error" else 200, text)

    async def _end(self, code: int, notice: str | None = None) -> None:
        if self.started_response:
            return  # answered already
        self.ended_with = code
        if notice is not None and code in REFUSAL_STATUS:
            await self._refuse(code, notice)
        else:
            self._answer(200, "{}")

    def _answer(self, status: int, text: str) -> None:
        if self.ended_with is None:
            self.ended_with = CLOSE_NORMAL
        if self.timeout is not None:
            self.timeout.cancel()
        open_streams.discard(self)
        self._start(status, _JSON)
        self._write(text.encode(), last=True)

    async def realtime_poll_timeout(self, message: dict[str, Any]) -> None:
        if not self.started_response:
            self._answer(200, "{}")

    async def ended(self) -> None:
        if self.timeout is not None:
            self.timeout.cancel()
        await super().ended()


class OpenStreams:
    """The HTTP event streams open in this process: written a heartbeat every
    ``SSE_HEARTBEAT_SECS`` by one timer for all of them (not one per stream: memory per
    connection, bench/README.md), and ended together when the process shuts down."""

    def __init__(self) -> None:
        self.streams: weakref.WeakSet[HttpTransport] = weakref.WeakSet()
        self.beating: asyncio.Task[None] | None = None

    def add(self, stream: HttpTransport) -> None:
        self.streams.add(stream)
        if self.beating is None or self.beating.done():
            self.beating = asyncio.get_running_loop().create_task(self._beat())

    def discard(self, stream: HttpTransport) -> None:
        self.streams.discard(stream)

    async def _beat(self) -> None:
        while self.streams:
            await asyncio.sleep(gp_settings.SSE_HEARTBEAT_SECS)
            for stream in list(self.streams):
                stream.heartbeat()

    def end_all(self) -> int:
        """Tell every open stream to end (a shutdown); how many were told."""
        streams = list(self.streams)
        for stream in streams:
            stream.dispatcher.dispatch_soon({"type": "realtime.going_away"}, stream.dispatch)
        return len(streams)


open_streams = OpenStreams()
