"""HTTP as the service answers it under daphne (``gleepost.asgi.django_application``: Django's
ASGIHandler behind ``RequestBodyLimit``), driven as daphne drives it: an ASGI scope, the body in
``http.request`` messages, ``http.disconnect`` when the client goes; what it sends back."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.signals import request_started

from gleepost import log_context
from gleepost.asgi import django_application
from gleepost.middleware import RequestBodyLimit
from tests.gleepost import http_urls
from tests.servers import daphne
from tests.signal_recorder import RecordSignal

Message = dict[str, Any]


# Django's ASGIHandler sends a file in chunks of this size.
FILE_CHUNK_BYTES = 64 * 1024


@pytest.fixture
def app(settings: Any) -> Iterator[RequestBodyLimit]:
    settings.ROOT_URLCONF = "tests.gleepost.http_urls"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096  # the limit of ordinary bodies
    for views in http_urls.seen.values():
        views.clear()
    http_urls.release_slow.clear()
    yield django_application()
    http_urls.release_slow.set()


@dataclass
class Client:
    """One request's side of the exchange: the body it sends, what it gets, when it goes."""

    body_parts: list[bytes] = field(default_factory=lambda: [b""])
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    leave_after_chunks: int | None = None
    received: int = 0
    sent: list[Message] = field(default_factory=list)

    async def receive(self) -> Message:
        self.received += 1
        if self.received <= len(self.body_parts):
            more = self.received < len(self.body_parts)
            part = self.body_parts[self.received - 1]
            return {"type": "http.request", "body": part, "more_body": more}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        chunks = [m for m in self.sent if m["type"] == "http.response.body"]
        if self.leave_after_chunks is not None and len(chunks) >= self.leave_after_chunks:
            self.gone.set()

    @property
    def status(self) -> int:
        start = self.sent[0]
        assert start["type"] == "http.response.start"
        return int(start["status"])

    def header(self, name: bytes) -> list[bytes]:
        return [v for k, v in self.sent[0]["headers"] if k.lower() == name.lower()]

    @property
    def chunks(self) -> list[bytes]:
        return [m.get("body", b"") for m in self.sent if m["type"] == "http.response.body"]

    @property
    def body(self) -> bytes:
        assert self.sent[-1]["type"] == "http.response.body"
        assert not self.sent[-1].get("more_body", False)  # the response was finished
        return b"".join(self.chunks)

    def json(self) -> Any:
        return json.loads(self.body)


def scope(
    path: str,
    method: str = "GET",
    headers: Iterable[tuple[bytes, bytes]] = (),
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        **extra,
    }


async def call(
    app: RequestBodyLimit, request: dict[str, Any], client: Client | None = None
) -> Client:
    client = client or Client()
    await asyncio.wait_for(app(request, client.receive, client.send), timeout=10)
    return client


class TestRequestBody:
    async def test_a_body_in_several_messages_reaches_the_view_whole(
        self, app: RequestBodyLimit
    ) -> None:
        parts = [b"a" * 1000, b"b" * 1000, b"c" * 500]
        headers = [(b"content-type", b"application/octet-stream"), (b"content-length", b"2500")]
        client = await call(app, scope("/echo", "POST", headers), Client(body_parts=parts))
        assert client.status == 200
        assert client.json()["size"] == 2500
        assert client.json()["sha256"] == hashlib.sha256(b"".join(parts)).hexdigest()

    async def test_a_body_without_length_past_the_limit_is_413_and_not_read_further(
        self, app: RequestBodyLimit
    ) -> None:
        client = Client(body_parts=[b"x" * 3000] * 5)  # chunked: no Content-Length
        await call(app, scope("/echo", "POST"), client)
        assert client.status == 413
        assert client.json() == {"error": "Request body too large (at most 4096 bytes)"}
        assert http_urls.seen["ran"] == []
        assert client.header(b"X-Request-ID")  # refused by the middleware, like any request

    async def test_a_declared_length_past_the_limit_is_413_without_reading(
        self, app: RequestBodyLimit
    ) -> None:
        client = Client(body_parts=[b"x" * 5000])
        await call(app, scope("/echo", "POST", [(b"content-length", b"5000")]), client)
        assert client.status == 413
        assert client.json() == {"error": "Request body too large (at most 4096 bytes)"}
        assert http_urls.seen["ran"] == []

    async def test_a_malformed_length_is_400(self, app: RequestBodyLimit) -> None:
        client = await call(app, scope("/echo", "POST", [(b"content-length", b"lots")]))
        assert client.status == 400
        assert client.json() == {"error": "Malformed Content-Length"}

    async def test_a_client_gone_before_its_body_arrived_gets_nothing(
        self, app: RequestBodyLimit, record_signal: RecordSignal
    ) -> None:
        started = record_signal(request_started)
        client = Client(body_parts=[b"x" * 100, b"never sent"])
        client.receive = _disconnect_after(client.receive, 1)  # type: ignore[method-assign]
        await call(app, scope("/echo", "POST"), client)
        assert client.sent == []
        assert started == []
        assert http_urls.seen["ran"] == []


def _disconnect_after(receive: Any, messages: int) -> Any:
    count = 0

    async def receive_then_leave() -> Message:
        nonlocal count
        count += 1
        if count > messages:
            return {"type": "http.disconnect"}
        message: Message = await receive()
        return message

    return receive_then_leave


class TestRequestAndResponse:
    async def test_the_view_sees_the_scopes_client_scheme_query_and_headers(
        self, app: RequestBodyLimit
    ) -> None:
        # daphne with --proxy-headers puts the client from X-Forwarded-For in the scope.
        request = scope(
            "/echo",
            headers=[(b"user-agent", b"tests/1.0")],
            client=("203.0.113.9", 4711),
            scheme="https",
            query_string=b"q=caf%C3%A9",
        )
        client = await call(app, request)
        answer = client.json()
        assert answer["remote_addr"] == "203.0.113.9"
        assert answer["secure"] is True
        assert answer["query"] == "café"
        assert answer["agent"] == "tests/1.0"

    async def test_headers_and_cookies_are_sent(self, app: RequestBodyLimit) -> None:
        client = await call(app, scope("/cookie"))
        assert client.status == 200
        assert client.body == b"with a cookie"
        assert client.header(b"Content-Type") == [b"text/plain; charset=utf-8"]
        assert client.header(b"X-Served-By") == [b"handler-test"]
        [cookie] = client.header(b"Set-Cookie")
        assert cookie.startswith(b"flavour=oat;")
        assert b"HttpOnly" in cookie
        assert client.header(b"X-Frame-Options") == [b"DENY"]  # the middleware ran

    async def test_the_request_id_bound_by_the_server_reaches_the_view_and_the_response(
        self, app: RequestBodyLimit
    ) -> None:
        # gleepost.server binds it where daphne creates the application instance.
        with log_context.ids_bound(request="req-from-server"):
            client = await call(app, scope("/echo"))
        assert client.json()["request_id"] == "req-from-server"
        assert client.header(b"X-Request-ID") == [b"req-from-server"]

    async def test_a_view_that_raises_is_a_500_in_the_api_error_shape(
        self, app: RequestBodyLimit, caplog: pytest.LogCaptureFixture
    ) -> None:
        client = await call(app, scope("/boom"))
        assert client.status == 500
        assert client.json() == {"error": "Internal server error"}
        [record] = [r for r in caplog.records if r.name == "django.request"]
        assert record.exc_info is not None and "the view failed" in str(record.exc_info[1])

    async def test_an_unknown_path_is_the_api_404(self, app: RequestBodyLimit) -> None:
        client = await call(app, scope("/no-such-view"))
        assert (client.status, client.json()) == (404, {"error": "Not found"})


class TestStreaming:
    async def test_a_streaming_response_is_sent_as_its_parts_come(
        self, app: RequestBodyLimit
    ) -> None:
        client = await call(app, scope("/stream"))
        assert client.status == 200
        assert client.chunks == [b"part 0;", b"part 1;", b"part 2;", b""]
        assert [m.get("more_body", False) for m in client.sent[1:]] == [True, True, True, False]
        assert http_urls.seen["closed"] == ["stream"]

    async def test_a_file_is_sent_in_chunks_never_whole(
        self, app: RequestBodyLimit, tmp_path: Path
    ) -> None:
        content = bytes(range(256)) * 1200  # 300 KiB
        (tmp_path / "video.mp4").write_bytes(content)
        http_urls.served_folder["root"] = tmp_path
        client = await call(app, scope("/files/video.mp4"))
        assert client.status == 200
        assert client.body == content
        assert client.header(b"Content-Length") == [str(len(content)).encode()]
        assert max(len(chunk) for chunk in client.chunks) == FILE_CHUNK_BYTES
        assert len(client.chunks) == 6  # five reads and the end

    async def test_a_file_is_read_only_as_far_as_the_client_takes_it(
        self, app: RequestBodyLimit, tmp_path: Path
    ) -> None:
        # Django's handler reads a synchronous file iterator whole before it sends anything;
        # gleepost.files reads one chunk at a time, and stops when the client has gone.
        (tmp_path / "long.mp4").write_bytes(os.urandom(40 * FILE_CHUNK_BYTES))
        http_urls.served_folder["root"] = tmp_path
        client = await call(app, scope("/files/long.mp4"), Client(leave_after_chunks=3))
        assert client.status == 200
        assert 3 <= len(client.chunks) <= 5
        assert all(len(chunk) == FILE_CHUNK_BYTES for chunk in client.chunks)

    async def test_a_client_gone_mid_stream_stops_the_reading(self, app: RequestBodyLimit) -> None:
        client = await call(app, scope("/endless"), Client(leave_after_chunks=3))
        # A few more may go before the loop hears of the disconnect; not a thousand.
        assert 3 <= len(client.chunks) <= 8
        assert http_urls.seen["closed"] == ["endless"]


class TestConcurrency:
    async def test_a_slow_request_does_not_hold_up_the_others(self, app: RequestBodyLimit) -> None:
        slow = asyncio.create_task(call(app, scope("/slow")))
        while "slow" not in http_urls.seen["ran"]:
            await asyncio.sleep(0.01)
        fast = await call(app, scope("/echo"))
        assert fast.status == 200
        assert not slow.done()
        http_urls.release_slow.set()
        assert (await slow).body == b"slow done"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
class TestThroughDaphne:
    def test_a_media_file_is_served_whole(self, tmp_path: Path) -> None:
        content = os.urandom(1_500_000)
        (tmp_path / "clip.mp4").write_bytes(content)
        with (
            daphne({"MEDIA_ROOT": str(tmp_path)}) as base,
            urllib.request.urlopen(f"{base}/media/clip.mp4", timeout=10) as response,
        ):
            assert response.status == 200
            assert response.headers["Content-Length"] == str(len(content))
            assert response.read() == content

    def test_a_chunked_body_past_the_limit_is_413(self) -> None:
        def body() -> Iterator[bytes]:
            for _ in range(48):  # 3 MiB, over the 2 MiB of an ordinary request
                yield b"x" * 65536

        with daphne() as base:
            connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=10)
            connection.request(
                "POST",
                "/api/v1/login",
                body=body(),
                headers={"Content-Type": "application/json", "X-Request-ID": "chunked-1"},
                encode_chunked=True,
            )
            response = connection.getresponse()
            assert response.status == 413
            assert json.loads(response.read()) == {
                "error": f"Request body too large (at most {2 * 1024 * 1024} bytes)"
            }
            assert response.headers["X-Request-ID"] == "chunked-1"
            connection.close()
