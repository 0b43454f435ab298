"""Helpers for end-to-end tests: a real websocket client and HTTP against daphne processes."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.test import Client
from websockets.asyncio.client import ClientConnection

from accounts.models import User
from tests.conftest import Member
from tests.realtime.conftest import without_position
from tests.realtime.schemas import validate_event


def ws_url(base: str, path: str = "/api/v1/ws", query: str = "") -> str:
    url = base.replace("http://", "ws://") + path
    return f"{url}?{query}" if query else url


def auth_query(member: Member, since: int | None = None, epoch: str | None = None) -> str:
    query = f"id={member.id}&token={member.token}"
    if since is not None:
        query += f"&since={since}&epoch={epoch}"
    return query


def http(
    method: str, url: str, member: Member, data: dict[str, str] | None = None
) -> tuple[int, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(
        url, data=body, method=method, headers={"X-GP-Auth": member.auth_header}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def post_view(base: str, member: Member, post_id: int) -> None:
    """Record one view of a post through ``POST views/posts`` (a JSON list body)."""
    request = urllib.request.Request(
        f"{base}/api/v1/views/posts",
        data=json.dumps([{"post": post_id}]).encode(),
        method="POST",
        headers={"X-GP-Auth": member.auth_header, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204


async def next_event(socket: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    return without_position(await next_raw_event(socket, timeout))


async def next_raw_event(socket: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    """The next event as sent, checked against the protocol's schemas (docs/asyncapi.yaml)."""
    event: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
    validate_event(event)
    return event


async def assert_silent(socket: ClientConnection, timeout: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(socket.recv(), timeout)


def session_key(user: User) -> str:
    """Log ``user`` in as a browser would be; the value of its session cookie."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def in_thread(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run Django code off the loop, closing its connection after (daphne shares the DB)."""
    return database_sync_to_async(func)(*args, **kwargs)


async def new_chat(sender: Member, receiver: Member) -> Any:
    """A new live conversation between the two (live ones are never reused, unlike a regular
    one between two)."""
    from conversations import actions as conversation_actions

    conversation, _ = await in_thread(
        conversation_actions.do_create_conversation, sender.user, [receiver.id], live=True
    )
    return conversation


def post_message(base: str, sender: Member, conversation_id: int, text: str) -> int:
    """``POST …/messages`` through the server at ``base``; the new message's id."""
    status, body = http(
        "POST", f"{base}/api/v1/conversations/{conversation_id}/messages", sender, {"text": text}
    )
    assert status == 201, body
    return int(body["id"])
