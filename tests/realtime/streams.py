"""Test clients of the HTTP transports inside one process: an SSE stream and a long-poll driven
through the real ASGI application (gleepost.asgi) as daphne drives it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from channels.testing import ApplicationCommunicator

from gleepost.asgi import application
from tests.conftest import Member
from tests.realtime.schemas import validate_event


def http_scope(
    path: str, query: str = "", headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


def member_query(member: Member, extra: str = "") -> str:
    query = f"id={member.id}&token={member.token}"
    return f"{query}&{extra}" if extra else query


@dataclass
class SseEvent:
    """One event of an SSE stream, as EventSource would dispatch it."""

    event: str
    data: dict[str, Any]
    id: str | None = None


@dataclass
class HttpStream:
    """A GET to the application, read as it arrives."""

    communicator: ApplicationCommunicator
    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    buffer: bytes = b""
    ended: bool = False

    @classmethod
    async def open(
        cls, path: str, query: str = "", headers: list[tuple[bytes, bytes]] | None = None
    ) -> HttpStream:
        stream = cls(ApplicationCommunicator(application, http_scope(path, query, headers)))
        await stream.communicator.send_input({"type": "http.request", "body": b""})
        start = await stream.communicator.receive_output(timeout=5)
        assert start["type"] == "http.response.start", start
        stream.status = start["status"]
        stream.headers = dict(start["headers"])
        return stream

    async def read_chunk(self, timeout: float = 3) -> bytes:
        """The next body chunk; marks the end of the body."""
        assert not self.ended, "the body has ended"
        message = await self.communicator.receive_output(timeout=timeout)
        assert message["type"] == "http.response.body", message
        self.ended = not message.get("more_body", False)
        body: bytes = message.get("body", b"")
        return body

    async def body(self, timeout: float = 3) -> bytes:
        """Everything until the end of the body."""
        parts = [self.buffer]
        while not self.ended:
            parts.append(await self.read_chunk(timeout))
        self.buffer = b""
        return b"".join(parts)

    async def json(self, timeout: float = 3) -> Any:
        return json.loads(await self.body(timeout))

    async def next_block(self, timeout: float = 3) -> str:
        """The next SSE block (lines up to a blank line), comments and retry: included."""
        while b"\n\n" not in self.buffer:
            self.buffer += await self.read_chunk(timeout)
        block, _, self.buffer = self.buffer.partition(b"\n\n")
        return block.decode()

    async def next_event(self, timeout: float = 3) -> SseEvent:
        """The next event, skipping comments and retry:, its data checked against the
        protocol's schemas."""
        while True:
            fields: dict[str, str] = {}
            for line in (await self.next_block(timeout)).split("\n"):
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
            if "data" in fields:
                data = json.loads(fields["data"])
                if "error" not in data:
                    validate_event(data)
                return SseEvent(fields.get("event", "message"), data, fields.get("id"))

    async def assert_silent(self, timeout: float = 0.3) -> None:
        assert b"\n\n" not in self.buffer
        assert await self.communicator.receive_nothing(timeout=timeout), "something arrived"

    async def wait_ended(self, timeout: float = 3) -> bytes:
        """The rest of the body, which must end."""
        return await asyncio.wait_for(self.body(timeout), timeout * 2)

    async def close(self) -> None:
        await self.communicator.send_input({"type": "http.disconnect"})
        await self.communicator.wait(timeout=5)
