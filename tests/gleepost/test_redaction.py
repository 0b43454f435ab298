"""Credentials are redacted from any text, in every shape a log line may carry them."""

from __future__ import annotations

import pytest

from gleepost.redaction import redact

TOKEN = "9f2c4e1a7b3d5f60" * 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Query strings and form bodies.
        (f"GET /api/v1/user/1?id=1&token={TOKEN}", "GET /api/v1/user/1?id=1&token=[redacted]"),
        (f"GET /x?token={TOKEN}&id=1", "GET /x?token=[redacted]&id=1"),
        ("email=a%40b.c&pass=hunter22", "email=a%40b.c&pass=[redacted]"),
        (
            "POST /login?email=a@b.c&password=hunter22",
            "POST /login?email=a@b.c&password=[redacted]",
        ),
        (f"GET /x?TOKEN={TOKEN}", "GET /x?TOKEN=[redacted]"),
        (f"access_token={TOKEN}&x=1", "access_token=[redacted]&x=1"),
        (
            "Cookie values: sessionid=abc; csrftoken=def",
            "Cookie values: sessionid=[redacted]; csrftoken=[redacted]",
        ),
        # JSON bodies and Python dicts.
        ('{"email": "a@b.c", "pass": "hunter 22"}', '{"email": "a@b.c", "pass": "[redacted]"}'),
        ('{"password":"with \\" quote","id":1}', '{"password":"[redacted]","id":1}'),
        (f"{{'token': '{TOKEN}', 'id': 9}}", "{'token': \"[redacted]\", 'id': 9}"),
        # Headers, as lines, as JSON, and as ASGI header pairs.
        (f"Authorization: Bearer {TOKEN}", "Authorization: [redacted]"),
        (f"X-GP-Auth: 9-{TOKEN}", "X-GP-Auth: [redacted]"),
        (f'{{"X-GP-Auth": "9-{TOKEN}"}}', '{"X-GP-Auth": "[redacted]"}'),
        (
            f"[(b'x-gp-auth', b'9-{TOKEN}'), (b'host', b'h')]",
            "[(b'x-gp-auth', '[redacted]'), (b'host', b'h')]",
        ),
        (f"sent bearer {TOKEN} upstream", "sent bearer [redacted] upstream"),
    ],
)
def test_credentials_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v1/conversations?page=2",
        "bypass=1 compass=north",
        "websocket closed by the server with 1001",
        '{"id": 9, "username": "alice", "value": 3}',
    ],
)
def test_text_without_credentials_is_unchanged(text: str) -> None:
    assert redact(text) == text
