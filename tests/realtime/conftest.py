"""Websocket test helpers: connect a member through the real ASGI application."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from gleepost.asgi import application
from realtime.events import STREAM_EVENT_TYPES
from tests.conftest import Member
from tests.realtime.schemas import validate_event
from tests.servers import daphne

Connect = Callable[..., Awaitable[WebsocketCommunicator]]


def without_position(event: dict[str, Any]) -> dict[str, Any]:
    """The event minus its stream position, which stream events must carry and others must not."""
    if event.get("type") in STREAM_EVENT_TYPES:
        assert isinstance(event.pop("seq"), int)
        assert isinstance(event.pop("epoch"), str)
    else:
        assert "seq" not in event and "epoch" not in event, event
    return event


class Socket(WebsocketCommunicator):
    async def next_event(self, timeout: float = 3) -> dict[str, Any]:
        """The next event, checked for its position and returned without it."""
        return without_position(await self.next_raw_event(timeout))

    async def next_raw_event(self, timeout: float = 3) -> dict[str, Any]:
        """The next event as sent, checked against the protocol's schemas (docs/asyncapi.yaml)."""
        event: dict[str, Any] = json.loads(await self.receive_from(timeout=timeout))
        validate_event(event)
        return event

    async def subscribe_posts(self, post_ids: list[int]) -> dict[int, int]:
        """SUBSCRIBE to posts the user may see; returns the views each one's answer carried."""
        await self.send_json_to({"action": "SUBSCRIBE", "posts": post_ids})
        counts = {}
        for _ in post_ids:
            event = await self.next_event()
            assert event["type"] == "views", event
            counts[int(event["location"].rsplit("/", 1)[1])] = event["data"]["views"]
        assert sorted(counts) == sorted(post_ids)
        return counts

    async def assert_silent(self, timeout: float = 0.3) -> None:
        assert await self.receive_nothing(timeout=timeout), "an event arrived that must not"


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    opened: list[Socket] = []

    async def open_socket(
        member: Member | None = None,
        *,
        path: str = "/api/v1/ws",
        query: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        expect_accept: bool = True,
    ) -> Socket:
        if query is None and member is not None:
            query = f"id={member.id}&token={member.token}"
        url = f"{path}?{query}" if query else path
        socket = Socket(application, url, headers=headers or [])
        connected, _ = await socket.connect(timeout=5)
        assert connected == expect_accept
        opened.append(socket)
        return socket

    yield open_socket
    for socket in opened:
        await socket.disconnect()


@pytest.fixture(scope="session")
def servers(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[str, str]]:
    """Two daphne processes on the test database, sharing the configured channel layer."""
    with django_db_blocker.unblock(), daphne() as first, daphne() as second:
        yield first, second
