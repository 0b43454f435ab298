"""What the access-end tests share: timing the close of an ended credential, a browser's
session socket, a check that sockets still stream, and ``manage.py`` in a process of its own."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from conversations import actions as conversation_actions
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from tests.conftest import Member
from tests.realtime.e2e import auth_query, http, in_thread, next_event, session_key, ws_url
from tests.servers import ROOT, run_command
from tests.servers import test_database_url as database_url

# The bound the rule sets: a credential ended closes what it opened within a second.
CLOSE_BOUND_SECS = 1.0
INVALID_CREDENTIALS = {"error": "Invalid credentials"}


class CloseWatch:
    """Reads ``socket`` from now on and notes when the protocol's close of an ended credential
    arrives: an action may take longer than the close (a ``manage.py`` process exits after its
    commit), so a close is timed from when it arrived, not from when it was read."""

    def __init__(self, socket: ClientConnection) -> None:
        self.task = asyncio.ensure_future(self._read(socket))

    @staticmethod
    async def _read(socket: ClientConnection) -> tuple[Any, float, int | None]:
        message = json.loads(await socket.recv())
        arrived = time.monotonic()
        try:
            await socket.recv()
        except ConnectionClosed as closed:
            return message, arrived, closed.rcvd.code if closed.rcvd else None
        raise AssertionError("a message after the close's error")

    async def closed_for_invalid_credentials(self, since: float, what: str) -> float:
        """Seconds from ``since`` to the close's arrival (negative: before ``since``)."""
        message, arrived, code = await asyncio.wait_for(self.task, 10)
        assert message == INVALID_CREDENTIALS
        assert code == CLOSE_INVALID_CREDENTIALS
        elapsed = arrived - since
        print(f"\naccess end, {what}: closed {elapsed * 1000:.0f} ms after")
        assert elapsed < CLOSE_BOUND_SECS, f"{what}: closed after {elapsed:.2f} s"
        return elapsed


async def still_streaming(
    sockets: list[ClientConnection], alice: Member, member: Member, base: str
) -> None:
    """A message from alice to ``member`` through ``base`` reaches each of ``sockets`` (after
    the new conversation's event)."""
    conversation = await in_thread(_conversation_between, alice, member)
    status, _ = await asyncio.to_thread(
        http, "POST", f"{base}/api/v1/conversations/{conversation}/messages", alice, {"text": "hi"}
    )
    assert status == 201
    for socket in sockets:
        assert (await next_event(socket))["type"] == "new-conversation"
        event = await next_event(socket)
        assert event["type"] == "message" and event["data"]["text"] == "hi", event


def _conversation_between(alice: Member, member: Member) -> int:
    conversation, _ = conversation_actions.do_create_conversation(alice.user, [member.id])
    return int(conversation.pk)


@asynccontextmanager
async def user_sockets(
    base: str, member: Member
) -> AsyncIterator[tuple[ClientConnection, ClientConnection]]:
    """Two sockets of ``member``: a phone's, opened with their token, and a browser's, opened
    with a new session of theirs."""
    session = await in_thread(session_key, member.user)
    async with (
        connect(ws_url(base, query=auth_query(member))) as token_socket,
        session_socket(base, session) as browser_socket,
    ):
        yield token_socket, browser_socket


@asynccontextmanager
async def session_socket(base: str, session_key: str) -> AsyncIterator[ClientConnection]:
    headers = {"Cookie": f"sessionid={session_key}"}
    async with connect(ws_url(base), additional_headers=headers, origin=Origin(base)) as socket:
        yield socket


def manage_py_with_stdin(*args: str, stdin: str, extra_env: dict[str, str] | None = None) -> str:
    """``manage.py`` in its own process and session (no terminal: getpass reads stdin)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(), **(extra_env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def shell(code: str, extra_env: dict[str, str] | None = None) -> float:
    """Run ``code`` in ``manage.py shell``; returns the monotonic time right after it (the
    clock is the machine's: a close that arrives here is timed from the commit)."""
    output = run_command(
        "shell", "-c", f"{code}; import time; print(time.monotonic())", extra_env=extra_env
    )
    return float(output.split()[-1])
