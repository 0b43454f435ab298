"""The daphne entry point never writes a token (or password) to its access log."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from gleepost.server import redact
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
