"""ASGI glue of the realtime layer: the websocket stack, the HTTP event streams in front of
Django, binding the publisher to the loop, and counting connections."""

from __future__ import annotations

import asyncio
from importlib import import_module
from typing import Any

from channels.routing import URLRouter
from django.conf import settings
from django.http.cookie import parse_cookie
from django.urls import re_path

from realtime import metrics
from realtime.publish import publisher
from realtime.routing import http_stream_urlpatterns, websocket_urlpatterns


class BindPublisherToServerLoop:
    """Makes synchronous code in this process publish on the server's loop (see publish.py)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        publisher.bind_server_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)


class SessionForHandshake:
    """Puts the Django session the handshake's cookie names in ``scope["session"]``.

    Read only: the consumer reads it once, to authenticate, and never writes it. Channels'
    SessionMiddleware would also wrap every message sent, to save a modified session — a tenth
    of daphne's time per event delivered under the broadcast benchmark, for nothing. The cookie
    header is read here rather than by Channels' CookieMiddleware: each middleware is one more
    coroutine and one more copy of the scope that every connection holds while it is open
    (bench/README.md, "Memory per connection").
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = None
        for name, value in scope.get("headers", ()):
            if name == b"cookie":
                key = parse_cookie(value.decode("latin1")).get(settings.SESSION_COOKIE_NAME)
                break
        # Creating a store reads nothing; the session is loaded when authenticate() reads it.
        return await self.app(dict(scope, session=self.store(key)), receive, send)


class CountConnections:
    """Counts websocket connections (realtime.metrics): opened when the consumer reads the
    handshake, closed with the code of the disconnect it reads, or as "none" if it ends without
    one (it raised, or the server cancelled it).

    Only ``receive`` is wrapped: it carries the handshake, the client's frames and the close.
    ``send``, which carries every event delivered, is left alone.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        is_open = False

        async def counted_receive() -> dict[str, Any]:
            nonlocal is_open
            message: dict[str, Any] = await receive()
            if message["type"] == "websocket.connect":
                is_open = True
                metrics.connection_opened()
            elif message["type"] == "websocket.disconnect" and is_open:
                is_open = False
                metrics.connection_closed(message.get("code"))
            return message

        try:
            return await self.app(scope, counted_receive, send)
        finally:
            if is_open:
                metrics.connection_closed(None)


def websocket_application() -> Any:
    # Sessions are loaded for the cookie-authenticated browser console; no origin validator
    # here, because phones send no Origin (realtime.auth checks it for sessions only).
    return CountConnections(SessionForHandshake(URLRouter(websocket_urlpatterns)))


def http_application(django_application: Any) -> Any:
    """HTTP: the event streams' paths (realtime.routing) to their consumers, with the session
    of the request's cookie as a websocket handshake has it; every other path to Django."""
    streams = [
        re_path(route.pattern.regex.pattern, SessionForHandshake(route.callback))
        for route in http_stream_urlpatterns
    ]
    return URLRouter([*streams, re_path(r"", django_application)])
