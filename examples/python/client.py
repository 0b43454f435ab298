"""A Gleepost websocket client that loses no stream event across reconnects.

It logs in over the REST API (``POST /api/v1/login``), connects the websocket, subscribes to the
posts given, and prints every event as one JSON line on standard output (what it is doing goes to
standard error). When the connection drops it reconnects with exponential backoff and full
jitter, and resumes the user's stream after the last position it printed (``?since=&epoch=``),
so every stream event is printed exactly once, in order: the algorithm of
docs/websocket-protocol.md, "Reconnecting without loss".

When the websocket cannot be had (``--transport auto``: the server answered the handshake over
HTTP but would not upgrade, twice in a row, as behind a proxy that strips ``Upgrade``), it
switches to Server-Sent Events (``GET /api/v1/events``) from the same position, with the same
rules: the switch loses and repeats nothing. ``--transport sse`` uses them from the start.

    python examples/python/client.py --url http://127.0.0.1:8000 \\
        --username alice@example.com --password gleepost-demo --subscribe-post 12

Needs Python 3.11+ and the ``websockets`` library (``pip install websockets``).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

# Close codes of docs/websocket-protocol.md, "Close codes": copied, so that this file stands
# alone (the service's tests check that they are the service's).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_INVALID_CREDENTIALS = 4001
CLOSE_TOO_SLOW = 4009
# A connection that stayed open this long was healthy: the next backoff starts again from the
# beginning.
HEALTHY_CONNECTION_SECS = 60.0
# The first wait, doubled at each failed attempt up to --max-backoff; the wait is drawn at
# random below it (full jitter).
FIRST_BACKOFF_SECS = 1.0
# Handshakes in a row answered without an upgrade before --transport auto switches to SSE.
FALLBACK_AFTER = 2
INVALID_CREDENTIALS = "Invalid credentials"


class LoginRefused(Exception):
    """The server refused the email and password: retrying cannot help."""


@dataclass
class Position:
    """Where the client is on the user's stream: the last ``seq`` printed, in ``epoch``."""

    last_seq: int | None = None
    epoch: str | None = None
    path: Path | None = None

    def load(self) -> None:
        if self.path is not None and self.path.exists():
            saved = json.loads(self.path.read_text())
            self.last_seq, self.epoch = saved["last_seq"], saved["epoch"]

    def store(self, last_seq: int, epoch: str) -> None:
        self.last_seq, self.epoch = last_seq, epoch
        if self.path is not None:
            self.path.write_text(json.dumps({"last_seq": last_seq, "epoch": epoch}))


@dataclass
class Credentials:
    user_id: int
    token: str


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(event: dict[str, Any]) -> None:
    print(json.dumps(event, separators=(",", ":")), flush=True)


def login(base_url: str, email: str, password: str) -> Credentials:
    """A token from ``POST /api/v1/login`` (rest-api.md, Accounts). A server that cannot be
    reached raises ``OSError`` (retried); one that refuses raises ``LoginRefused``."""
    body = urllib.parse.urlencode({"email": email, "pass": password}).encode()
    try:
        with urllib.request.urlopen(f"{base_url}/api/v1/login", data=body, timeout=10) as answer:
            result = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        if error.code == 429 or error.code >= 500:
            raise OSError(f"login: {error.code}") from None  # rate limited or down: later
        raise LoginRefused(f"login refused ({error.code}): {error.read().decode()}") from None
    return Credentials(user_id=int(result["id"]), token=str(result["value"]))


def websocket_url(base_url: str, position: Position) -> str:
    """The websocket's address; with the position to resume from once there is one."""
    url = base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    url = f"{url}/api/v1/ws"
    if position.last_seq is not None and position.epoch is not None:
        query = urllib.parse.urlencode({"since": position.last_seq, "epoch": position.epoch})
        url = f"{url}?{query}"
    return url


def handle(event: dict[str, Any], position: Position) -> None:
    """Print an event unless it is a stream event already printed; advance the position."""
    if "seq" in event:
        seq, epoch = int(event["seq"]), str(event["epoch"])
        same_history = position.epoch is None or epoch == position.epoch
        if same_history and position.last_seq is not None and seq <= position.last_seq:
            return  # printed before the connection dropped
        # A new epoch means the history was lost: an application refetches its state over
        # REST here (that state includes this event's change).
        emit(event)
        position.store(seq, epoch)
    elif event.get("type") == "resync-required":
        # The position cannot be resumed from: refetch over REST, then go on from here.
        emit(event)
        position.store(int(event["data"]["since"]), str(event["data"]["epoch"]))
    else:
        emit(event)


def stream_url(base_url: str, position: Position, post_ids: list[int]) -> str:
    """The SSE stream's address: the subscriptions, and the position to resume from."""
    query: dict[str, Any] = {}
    if post_ids:
        query["posts"] = ",".join(str(post_id) for post_id in post_ids)
    if position.last_seq is not None and position.epoch is not None:
        query.update(since=position.last_seq, epoch=position.epoch)
    return f"{base_url}/api/v1/events?{urllib.parse.urlencode(query)}"


def read_stream(
    base_url: str, credentials: Credentials, position: Position, post_ids: list[int]
) -> int | None:
    """Read one Server-Sent Events response to its end (blocking: run it in a thread); each
    event is handled as a websocket's. The websocket close code its ending stands for:
    CLOSE_INVALID_CREDENTIALS when the token was refused or its access ended, None otherwise
    (the server ended the stream: a shutdown, a slow read; resume)."""
    url = urllib.parse.urlsplit(stream_url(base_url, position, post_ids))
    kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    # No read timeout shorter than the server's heartbeat (15 s) plus a margin.
    connection = kind(url.netloc, timeout=60)
    try:
        connection.request(
            "GET",
            f"{url.path}?{url.query}",
            headers={
                "Accept": "text/event-stream",
                "X-GP-Auth": f"{credentials.user_id}-{credentials.token}",
            },
        )
        response = connection.getresponse()
        if response.status == 401:
            return CLOSE_INVALID_CREDENTIALS
        if response.status != 200:
            raise OSError(f"event stream: HTTP {response.status}")
        status(f"streaming (resuming after {position.last_seq}, epoch {position.epoch})")
        data: list[str] = []
        for raw in response:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif not line and data:
                event = json.loads("\n".join(data))
                data = []
                if event.get("error") == INVALID_CREDENTIALS:
                    return CLOSE_INVALID_CREDENTIALS
                handle(event, position)
            # event:, id: and comments: the data says it all (its type, seq and epoch).
        return None
    finally:
        connection.close()


async def listen(socket: ClientConnection, position: Position, post_ids: list[int]) -> None:
    """Subscribe, then handle every frame until the connection closes."""
    if post_ids:
        await socket.send(json.dumps({"action": "SUBSCRIBE", "posts": post_ids}))
    async for frame in socket:
        try:
            event = json.loads(frame)
        except json.JSONDecodeError:
            status(f"not JSON, ignored: {frame!r:.200}")
            continue
        if isinstance(event, dict):
            handle(event, position)


def backoff_secs(attempt: int, max_backoff_secs: float) -> float:
    """Exponential backoff with full jitter: clients that lost the same server spread out."""
    return random.uniform(0, min(max_backoff_secs, FIRST_BACKOFF_SECS * 2**attempt))


async def run(args: argparse.Namespace) -> int:
    base_url = args.url.rstrip("/")
    position = Position(path=args.state)
    position.load()
    credentials: Credentials | None = None
    attempt = 0
    transport = "sse" if args.transport == "sse" else "websocket"
    refused_upgrades = 0
    while True:
        opened_at = time.monotonic()
        close_code: int | None = None
        try:
            if credentials is None:
                credentials = await asyncio.to_thread(login, base_url, args.username, args.password)
                status(f"logged in as user {credentials.user_id}")
            if transport == "sse":
                close_code = await asyncio.to_thread(
                    read_stream, base_url, credentials, position, args.subscribe_post
                )
            else:
                async with connect(
                    websocket_url(base_url, position),
                    # In a header rather than the query string: URLs end up in logs.
                    additional_headers={"X-GP-Auth": f"{credentials.user_id}-{credentials.token}"},
                    open_timeout=10,
                ) as socket:
                    status(
                        f"connected (resuming after {position.last_seq}, epoch {position.epoch})"
                    )
                    opened_at = time.monotonic()
                    refused_upgrades = 0
                    await listen(socket, position, args.subscribe_post)
                close_code = socket.close_code
        except ConnectionClosed as closed:
            close_code = closed.rcvd.code if closed.rcvd is not None else None
        except InvalidHandshake as error:
            # The server answered over HTTP but did not upgrade: something in between strips
            # Upgrade, or the server refused. Twice in a row, in auto: Server-Sent Events.
            status(f"could not connect: {error}")
            refused_upgrades += 1
            if args.transport == "auto" and refused_upgrades >= FALLBACK_AFTER:
                status("the websocket cannot connect; switching to Server-Sent Events")
                transport = "sse"
                attempt = 0
                continue
        except (OSError, TimeoutError, http.client.HTTPException) as error:
            status(f"could not connect: {error}")
        if close_code == CLOSE_NORMAL:
            return 0
        if close_code == CLOSE_INVALID_CREDENTIALS:
            # The token expired or was revoked: log in again; the stream goes on where it was.
            status(f"credentials refused ({close_code}): logging in again")
            credentials = None
        if close_code == CLOSE_GOING_AWAY or time.monotonic() - opened_at > HEALTHY_CONNECTION_SECS:
            # 1001: the process is shutting down and no longer accepts connections; another
            # answers at once. The jitter spreads that process's clients over the next second.
            attempt = 0
        # 4009: the server closed a connection that fell behind; it has the events: resume now.
        delay = 0.0 if close_code == CLOSE_TOO_SLOW else backoff_secs(attempt, args.max_backoff)
        attempt += 1
        status(f"connection closed ({close_code}); reconnecting in {delay:.2f} s")
        await asyncio.sleep(delay)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--url", required=True, help="the service, e.g. http://127.0.0.1:8000")
    parser.add_argument(
        "--username", "--email", required=True, help="the account's email (login is by email)"
    )
    parser.add_argument("--password", required=True)
    parser.add_argument(
        "--subscribe-post",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="a post whose views and comments to receive (repeat for more)",
    )
    parser.add_argument(
        "--max-backoff",
        type=float,
        default=30.0,
        metavar="SECS",
        help="the longest wait between reconnection attempts (default 30)",
    )
    parser.add_argument(
        "--transport",
        choices=("auto", "websocket", "sse"),
        default="auto",
        help="auto (default): the websocket, Server-Sent Events when it cannot be had",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="a file that keeps the stream position, so a restarted client resumes too",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except LoginRefused as error:
        status(str(error))
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
