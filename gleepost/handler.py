"""HTTP from daphne to Django with one hop to a thread (bench/README.md, "HTTP path: CPU per
request").

Django's ASGIHandler runs each request in a ThreadSensitiveContext, a new thread per request,
and hops between the event loop and that thread for the request_started signal, the view, the
response's close and request_finished: 3.4-4.2 ms of daphne's CPU per GET /healthz, against
1.6-2.0 ms here and 0.6-0.8 ms for daphne with a bare ASGI app. None of this service's views
is async. Here the loop reads the body; then one call on a thread of a fixed
pool (``GLEEPOST["HTTP_THREADS"]``) does all of Django's work (signals, middleware, the view, the
response's content and close) and the loop sends what it built.

A streaming response (a file served from MEDIA_ROOT or STATIC_ROOT, any FileResponse) is read
on that same thread, a chunk at a time, each chunk sent from the loop before the next is read.
Everything about a request happens on one thread, as under WSGI: request_finished closes (or
returns to the pool) the database connection the view used, not another thread's.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, cast

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig
from django.core.handlers import base
from django.core.handlers.asgi import ASGIRequest, get_script_prefix
from django.http import (
    FileResponse,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
)
from django.urls import set_script_prefix

from gleepost.conf import gp_settings
from gleepost.middleware import max_body_bytes

logger = logging.getLogger("django.request")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
# The first message of a response and, unless it streams, its whole body.
Reply = tuple[Message, bytes]

# Bytes a file response reads at a time, and so the most one body message carries (as Django's
# ASGIHandler: daphne writes each message to the socket as it comes).
FILE_CHUNK_BYTES = 64 * 1024
# A streamed chunk the loop has not taken this long after it was read: the loop has stopped
# (the process is exiting), and the thread stops reading.
STREAM_SEND_TIMEOUT_SECS = 30.0


class Request(ASGIRequest):
    """Django's request from an ASGI scope, and whether its body went past the size limit
    (RequestSizeLimitMiddleware refuses it then)."""

    body_over_limit = False


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None if it has none (or a malformed one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(receive: Receive, limit: int, declared: int | None) -> tuple[IO[bytes], bool]:
    """The request's body, in a file that is spooled to disk past FILE_UPLOAD_MAX_MEMORY_SIZE (as
    Django's ASGIHandler does), and whether it is over ``limit``: then it is not read (or no
    further), the file stays empty, and the request is refused. Raises ``ConnectionAbortedError``
    if the client leaves before its body has arrived."""
    # Handed on open: the request closes it, when its response is closed.
    body = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
    )
    if declared is not None and declared > limit:
        return body, True
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            raise ConnectionAbortedError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:  # a body sent without Content-Length (chunked)
            body.seek(0)
            body.truncate()
            return body, True
        body.write(chunk)
        if not message.get("more_body", False):
            break
    body.seek(0)
    return body, False


async def wait_for_disconnect(receive: Receive) -> None:
    """Returns once the client has gone (messages of a body left unread are skipped)."""
    while (await receive())["type"] != "http.disconnect":
        pass


def response_headers(response: HttpResponseBase) -> list[tuple[bytes, bytes]]:
    """The response's headers and cookies as ASGI wants them (Django's ASGIHandler's encoding)."""
    headers = [(name.encode("ascii"), value.encode("latin1")) for name, value in response.items()]
    headers.extend(
        (b"Set-Cookie", cookie.output(header="").encode("ascii").strip())
        for cookie in response.cookies.values()
    )
    return headers


class Relay:
    """Carries a streaming response's messages from the thread that reads it to the loop, which
    sends them; tells the thread to stop once the client has gone or the request was cancelled.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Receive, send: Send) -> None:
        self.loop = loop
        self.receive = receive
        self.send = send
        self.abandoned = False
        self.listener: asyncio.Future[None] | None = None

    def put(self, message: Message) -> bool:
        """On the thread: sends ``message`` and waits until it is sent; False if it was not
        (the client has gone, the request was cancelled, the loop has stopped)."""
        if self.abandoned:
            return False
        try:
            sent = asyncio.run_coroutine_threadsafe(self._send(message), self.loop)
        except RuntimeError:  # the loop is closed
            return False
        try:
            return sent.result(STREAM_SEND_TIMEOUT_SECS)
        except (TimeoutError, concurrent.futures.CancelledError):
            sent.cancel()
            return False

    async def _send(self, message: Message) -> bool:
        if self.listener is None:
            # Only streaming responses listen: daphne drops what is sent to a closed connection,
            # so a whole response needs no listener; one read in chunks stops reading.
            self.listener = asyncio.ensure_future(wait_for_disconnect(self.receive))
        if self.listener.done():
            return False
        await self.send(message)
        return True

    def stop_listening(self) -> None:
        if self.listener is not None and not self.listener.done():
            self.listener.cancel()


class ThreadHandler(base.BaseHandler):
    """Django's handling of one request, start to end, on the calling thread."""

    request_class = Request

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware()

    def respond(
        self, scope: Scope, body: IO[bytes], over_limit: bool, relay: Relay
    ) -> Reply | None:
        """The response's first message and body; None if it streamed (through ``relay``)."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        response = self.response_for(scope, body, over_limit)
        try:
            start = {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response_headers(response),
            }
            if not response.streaming:
                return start, cast(HttpResponse, response).content
            if isinstance(response, FileResponse):
                response.block_size = FILE_CHUNK_BYTES
            self.stream(response, start, relay)
            return None
        finally:
            response.close()  # request_finished: this thread's database connection

    def response_for(self, scope: Scope, body: IO[bytes], over_limit: bool) -> HttpResponseBase:
        try:
            request = Request(scope, body)
        except UnicodeDecodeError:
            logger.warning(
                "Bad Request (UnicodeDecodeError)",
                exc_info=sys.exc_info(),
                extra={"status_code": 400},
            )
            body.close()
            return HttpResponseBadRequest()
        except RequestDataTooBig:
            body.close()
            return HttpResponse("413 Payload too large", status=413)
        request.body_over_limit = over_limit
        # get_response closes the request, and with it the body, when the response is closed.
        return self.get_response(request)

    @staticmethod
    def stream(response: HttpResponseBase, start: Message, relay: Relay) -> None:
        if not relay.put(start):
            return
        for chunk in response:
            message = {"type": "http.response.body", "body": chunk, "more_body": True}
            if chunk and not relay.put(message):
                return
        relay.put({"type": "http.response.body"})


def http_threads() -> int:
    """Threads for HTTP requests: ``GLEEPOST["HTTP_THREADS"]``, or when that is 0, 8, or 1 on
    SQLite.

    SQLite lets one connection write at a time; the others wait in its busy handler, which
    sleeps (1, 2, 5 ... up to 100 ms, again and again) rather than queueing, so four writers on
    eight threads had a p99 of 300-800 ms where one thread, doing the same work in turn, had
    130-160 ms at the same throughput (tests/gleepost/test_server_slow_clients.py on SQLite).
    """
    if gp_settings.HTTP_THREADS:
        return int(gp_settings.HTTP_THREADS)
    sqlite = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    return 1 if sqlite else 8


class DjangoHttp:
    """The ASGI application for ``http`` scopes: Django on a pool of threads."""

    def __init__(self, threads: int | None = None) -> None:
        self.handler = ThreadHandler()
        self.threads = ThreadPoolExecutor(
            max_workers=threads or http_threads(), thread_name_prefix="http"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = max_body_bytes(scope["path"])
        try:
            body, over_limit = await read_body(receive, limit, declared_length(scope))
        except ConnectionAbortedError:
            return  # the client left before its request was complete: nothing to answer
        loop = asyncio.get_running_loop()
        relay = Relay(loop, receive, send)
        # The request's ids (gleepost.log_context) go with it to the thread.
        context = contextvars.copy_context()
        try:
            reply = await loop.run_in_executor(
                self.threads, context.run, self.handler.respond, scope, body, over_limit, relay
            )
        except asyncio.CancelledError:
            # The thread cannot be stopped; a response it is streaming stops at its next chunk.
            relay.abandoned = True
            raise
        finally:
            relay.stop_listening()
        if reply is not None:
            start, content = reply
            await send(start)
            await send({"type": "http.response.body", "body": content})
