"""The "Python ceiling": the fan-out a competent developer writes with websockets and redis-py.

    python bench/reference/server.py --port P --redis redis://127.0.0.1:6379/0 [--host H]

A client connects to ``ws://H:P/ws?id=<user id>`` (no authentication: it is the ceiling) and is
subscribed to Redis channel ``user.<id>``; ``{"action": "SUBSCRIBE", "posts": [N, ...]}`` adds
``post.<N>`` (answered ``{"type": "subscribed", "posts": [...]}``), UNSUBSCRIBE removes them,
anything else is answered ``{"type": "error"}``. Each message published on a channel is sent
verbatim to every local connection of that channel.

One Redis pub/sub connection serves the process: the channel is SUBSCRIBEd in Redis when its
first local connection joins and UNSUBSCRIBEd when its last one leaves.

What ``broadcast`` does with a slow client (websockets 17, ``asyncio/connection.py``): it never
waits and never skips a back-pressured connection; it appends the frame to the connection's
transport buffer, which grows without bound until the keepalive ping times out (20 s + 20 s by
default) and closes the connection with 1011, which the client sees. It does skip, silently, a
connection that is no longer OPEN (closing handshake in progress) and, with a logged warning, a
connection whose write raised. Both are sends lost without the client being told, so they are
counted (``raise_exceptions=True`` reports the failed writes; the not-OPEN skips are counted
before the call) and printed on exit as ``skipped sends: N``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import redis.asyncio as redis
from websockets.asyncio.server import Request, Response, ServerConnection, broadcast, serve
from websockets.protocol import State


class Hub:
    """Local connections per Redis channel, fed by one pub/sub connection."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.members: dict[str, set[ServerConnection]] = {}
        self.skipped = 0

    async def join(self, channel: str, ws: ServerConnection) -> None:
        members = self.members.setdefault(channel, set())
        members.add(ws)
        if len(members) == 1:
            # Returns once the command is written: Redis handles it before any PUBLISH sent
            # after the client reads our answer.
            await self.pubsub.subscribe(channel)

    async def leave(self, channel: str, ws: ServerConnection) -> None:
        members = self.members.get(channel)
        if members is None or ws not in members:
            return
        members.discard(ws)
        if not members:
            del self.members[channel]
            await self.pubsub.unsubscribe(channel)

    async def run(self) -> None:
        """Deliver each published message; blocks in Redis reads, no polling."""
        await self.pubsub.connect()
        while True:
            message = await self.pubsub.get_message(timeout=None)
            if message is None or message["type"] != "message":
                continue
            members = self.members.get(message["channel"].decode())
            if not members:
                continue
            self.skipped += sum(ws.state is not State.OPEN for ws in members)
            try:
                # The payload is already UTF-8 JSON: sent as a text frame without re-encoding.
                broadcast(members, message["data"], text=True, raise_exceptions=True)
            except ExceptionGroup as failures:
                self.skipped += len(failures.exceptions)


def user_id(path: str) -> int | None:
    parts = urlsplit(path)
    ids = parse_qs(parts.query).get("id", [])
    if parts.path != "/ws" or len(ids) != 1 or not ids[0].isdigit():
        return None
    return int(ids[0])


def reject_bad_path(connection: ServerConnection, request: Request) -> Response | None:
    if user_id(request.path) is None:
        return connection.respond(HTTPStatus.BAD_REQUEST, "expected /ws?id=<user id>\n")
    return None


def posts_of(frame: str | bytes) -> tuple[str, list[int]] | None:
    """The action and post ids of a valid SUBSCRIBE/UNSUBSCRIBE frame, else None."""
    try:
        request = json.loads(frame) if isinstance(frame, str) else None
    except ValueError:
        return None
    if not isinstance(request, dict) or request.get("action") not in ("SUBSCRIBE", "UNSUBSCRIBE"):
        return None
    posts = request.get("posts")
    if not isinstance(posts, list) or not all(
        isinstance(post, int) and not isinstance(post, bool) for post in posts
    ):
        return None
    return request["action"], posts


async def serve_client(ws: ServerConnection, hub: Hub) -> None:
    user = user_id(ws.request.path if ws.request else "")
    assert user is not None  # reject_bad_path turned it away otherwise
    channels = {f"user.{user}"}
    await hub.join(f"user.{user}", ws)
    try:
        async for frame in ws:
            match posts_of(frame):
                case ("SUBSCRIBE", posts):
                    for post in posts:
                        channels.add(f"post.{post}")
                        await hub.join(f"post.{post}", ws)
                    await ws.send(json.dumps({"type": "subscribed", "posts": posts}))
                case ("UNSUBSCRIBE", posts):
                    for post in posts:
                        channels.discard(f"post.{post}")
                        await hub.leave(f"post.{post}", ws)
                    await ws.send(json.dumps({"type": "unsubscribed", "posts": posts}))
                case _:
                    await ws.send(json.dumps({"type": "error"}))
    finally:
        for channel in channels:
            await hub.leave(channel, ws)


async def main() -> None:
    parser = argparse.ArgumentParser(description="The Python ceiling reference server.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    hub = Hub(args.redis)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    reader = asyncio.create_task(hub.run())
    stopping = asyncio.create_task(stop.wait())
    # No compression: daphne, the server measured against this one, does not offer it either.
    async with serve(
        lambda ws: serve_client(ws, hub),
        args.host,
        args.port,
        process_request=reject_bad_path,
        compression=None,
    ):
        print(f"listening on {args.port}", flush=True)
        # Until a signal, or until the Redis reader fails (then exit with its error).
        await asyncio.wait({stopping, reader}, return_when=asyncio.FIRST_COMPLETED)
    # Leaving serve() closed every connection (1001) and ran their handlers' cleanup.
    stopping.cancel()
    if reader.done():
        reader.result()
    reader.cancel()
    await hub.pubsub.aclose()
    await hub.client.aclose()
    print(f"skipped sends: {hub.skipped}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
