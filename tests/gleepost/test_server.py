"""The daphne entry point: no token (or password) in its access log; a deep listen backlog."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gleepost.redaction import redact
from tests.conftest import Member
from tests.servers import daphne


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET /api/v1/user/1?id=1&token=abc123", "GET /api/v1/user/1?id=1&token=[redacted]"),
        ("GET /x?token=abc&id=1", "GET /x?token=[redacted]&id=1"),
        ("POST /login?email=a@b.c&pass=hunter22", "POST /login?email=a@b.c&pass=[redacted]"),
        ("GET /x?TOKEN=abc", "GET /x?TOKEN=[redacted]"),
        ("GET /api/v1/conversations", "GET /api/v1/conversations"),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_access_log_has_no_token(alice: Member, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with daphne(extra_args=("--access-log", str(log))) as base:
        url = f"{base}/api/v1/user/{alice.id}?id={alice.id}&token={alice.token}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    text = log.read_text()
    assert f"/api/v1/user/{alice.id}?id={alice.id}&token=[redacted]" in text
    assert alice.token not in text


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_listening_socket_has_the_backlog() -> None:
    with daphne(backlog=777) as base:
        port = urlsplit(base).port
        listing = subprocess.run(
            ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
        ).stdout.split()
    # For a listening socket ss shows the backlog as Send-Q (Twisted's default would be 50).
    assert listing[0] == "LISTEN"
    assert listing[2] == "777"


class FakeSocket:
    def __init__(self, accept: int | None) -> None:
        self.accept = accept  # bytes the kernel takes per send; None: would block
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> int:
        if self.accept is None:
            raise BlockingIOError
        self.sent.append(data[: self.accept])
        return min(self.accept, len(data))


class FakeTransport:
    connected = True
    disconnecting = False
    producer = None
    offset = 0

    def __init__(self, accept: int | None, buffered: bytes = b"") -> None:
        self.socket = FakeSocket(accept)
        self.dataBuffer = buffered
        self._tempDataBuffer: list[bytes] = []
        self.buffered: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.buffered.append(data)


@pytest.mark.parametrize(
    ("accept", "buffered", "to_kernel", "to_twisted"),
    [
        (100, b"", [b"frame"], []),  # all of it sent at once
        (2, b"", [b"fr"], [b"ame"]),  # a partial send leaves the rest to Twisted
        (None, b"", [], [b"frame"]),  # a full socket: all to Twisted
        (100, b"older", [], [b"frame"]),  # older bytes wait: keep the order
    ],
)
def test_write_now_sends_only_when_nothing_waits(
    accept: int | None, buffered: bytes, to_kernel: list[bytes], to_twisted: list[bytes]
) -> None:
    from gleepost.extensions.twisted import _WriteNow

    transport = FakeTransport(accept, buffered)
    _WriteNow(transport)(b"frame")
    assert transport.socket.sent == to_kernel
    assert transport.buffered == to_twisted
