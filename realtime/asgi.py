"""ASGI glue of the realtime layer: the websocket stack, and binding the publisher to the loop."""

from __future__ import annotations

import asyncio
from importlib import import_module
from typing import Any

from channels.routing import URLRouter
from channels.sessions import CookieMiddleware
from django.conf import settings

from realtime.publish import publisher
from realtime.routing import websocket_urlpatterns


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
    of daphne's time per event delivered under the broadcast benchmark, for nothing.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        key = scope["cookies"].get(settings.SESSION_COOKIE_NAME)
        # Creating a store reads nothing; the session is loaded when authenticate() reads it.
        return await self.app(dict(scope, session=self.store(key)), receive, send)


def websocket_application() -> Any:
    # Sessions are loaded for the cookie-authenticated browser console; no origin validator
    # here, because phones send no Origin (realtime.auth checks it for sessions only).
    return CookieMiddleware(SessionForHandshake(URLRouter(websocket_urlpatterns)))
