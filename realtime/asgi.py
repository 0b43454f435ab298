"""ASGI glue of the realtime layer: the websocket stack, and binding the publisher to the loop."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.routing import URLRouter
from channels.sessions import SessionMiddlewareStack

from realtime.publish import publisher
from realtime.routing import websocket_urlpatterns


class BindPublisherToServerLoop:
    """Makes synchronous code in this process publish on the server's loop (see publish.py)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        publisher.bind_server_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)


def websocket_application() -> Any:
    # Sessions are loaded for the cookie-authenticated browser console; no origin validator
    # here, because phones send no Origin (realtime.auth checks it for sessions only).
    return SessionMiddlewareStack(URLRouter(websocket_urlpatterns))
