"""The floor under this project's numbers: a bare ASGI application for daphne, no Django.

    python -m daphne bench.floor.app:application

A websocket is accepted and held (nothing sent, nothing read beyond what daphne reads); an HTTP
request is answered 201 with ``{"id": N}``. What daphne costs with it — memory per idle
connection, CPU per request — is what no application served by daphne can go below
(bench/README.md, "The floor").
"""

from __future__ import annotations

import itertools
import json
from typing import Any

_ids = itertools.count(1)

Scope = dict[str, Any]
Receive = Any
Send = Any


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await _websocket(receive, send)
    elif scope["type"] == "http":
        await _http(receive, send)


async def _websocket(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.disconnect":
            return


async def _http(receive: Receive, send: Send) -> None:
    more = True
    while more:  # the body, read and dropped
        message = await receive()
        more = message.get("more_body", False)
    body = json.dumps({"id": next(_ids)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
