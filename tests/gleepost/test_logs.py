"""Log lines: the JSON and text formats, the ids on each record, and redaction in both.

The end-to-end test runs the real daphne with ``GLEEPOST_LOG_FORMAT=json`` and reads every line
it wrote (stdout and stderr: Django's, ours, the access log).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from websockets.asyncio.client import connect

from gleepost import log_context
from gleepost.logs import (
    ContextFilter,
    JsonFormatter,
    RedactingFilter,
    TextFormatter,
    checked_log_format,
    make_handler,
)
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from tests.conftest import Member
from tests.realtime.e2e import auth_query, in_thread, ws_url
from tests.servers import daphne, daphne_log_path, processes

TOKEN = "5e8d0c3b9a1f7e2d" * 4
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def emit() -> Iterator[Any]:
    """Log through a handler as production has it; returns what the handler wrote."""
    logger = logging.getLogger("tests.logs")
    logger.propagate = False
    logger.setLevel(logging.INFO)

    def log(formatter: logging.Formatter, *args: Any, **kwargs: Any) -> str:
        stream = io.StringIO()
        logger.handlers = [make_handler(stream, formatter)]
        logger.log(*args, **kwargs)
        return stream.getvalue()

    yield log
    logger.handlers = []


def test_a_json_line_has_time_level_logger_message_and_the_ids(emit: Any) -> None:
    with log_context.ids_bound(request="req-1", connection="conn-1"):
        line = emit(JsonFormatter(), logging.WARNING, "closing %s", "it", extra={"code": 4009})
    assert line.endswith("\n") and line.count("\n") == 1
    entry = json.loads(line)
    assert ISO_UTC.fullmatch(entry["time"])
    moment = datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 5
    assert entry == {
        "time": entry["time"],
        "level": "WARNING",
        "logger": "tests.logs",
        "message": "closing it",
        "request_id": "req-1",
        "connection_id": "conn-1",
        "code": 4009,
    }


def test_a_json_line_leaves_out_absent_ids_and_objects(emit: Any) -> None:
    entry = json.loads(emit(JsonFormatter(), logging.INFO, "hello", extra={"request": object()}))
    assert entry.keys() == {"time", "level", "logger", "message"}


def test_an_exception_is_a_traceback_field_of_one_line(emit: Any) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        line = emit(JsonFormatter(), logging.ERROR, "failed", exc_info=True)
    assert line.count("\n") == 1
    entry = json.loads(line)
    assert entry["message"] == "failed"
    assert entry["traceback"].startswith("Traceback (most recent call last):")
    assert 'raise ValueError("boom")' in entry["traceback"]
    assert entry["traceback"].endswith("ValueError: boom")


@pytest.mark.parametrize("formatter", [JsonFormatter(), TextFormatter()], ids=["json", "text"])
def test_no_credential_reaches_either_format(emit: Any, formatter: logging.Formatter) -> None:
    try:
        raise PermissionError(f"token={TOKEN} refused")
    except PermissionError:
        written = emit(
            formatter,
            logging.ERROR,
            "request %s with %r",
            f"/api/v1/user/1?id=1&token={TOKEN}",
            {"email": "a@b.c", "pass": "hunter22"},
            exc_info=True,
            extra={"header": f"X-GP-Auth: 1-{TOKEN}"},
        )
    assert TOKEN not in written
    assert "hunter22" not in written
    assert written.count("[redacted]") >= 3


def test_unformattable_arguments_do_not_break_logging(emit: Any) -> None:
    line = emit(JsonFormatter(), logging.INFO, "two %s %s", f"token={TOKEN}")
    entry = json.loads(line)
    assert entry["message"] == "two %s %s (unformattable arguments)"
    assert TOKEN not in line


def test_text_lines_end_with_the_ids_when_there_are_some(emit: Any) -> None:
    plain = emit(TextFormatter(), logging.INFO, "hello")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO tests.logs hello\n", plain)
    with log_context.ids_bound(connection="c-9"):
        assert emit(TextFormatter(), logging.INFO, "hello").endswith(
            "INFO tests.logs hello [connection_id=c-9]\n"
        )


def test_filters_leave_records_usable_by_other_handlers() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "a %s", (f"token={TOKEN}",), None)
    assert ContextFilter().filter(record) and RedactingFilter().filter(record)
    assert record.getMessage() == "a token=[redacted]"
    assert record.request_id is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("configured", "expected"),
    [("text", "text"), ("", "text"), ("json", "json"), ("JSON ", "json")],
)
def test_the_log_format_setting(configured: str, expected: str) -> None:
    assert checked_log_format(configured) == expected


def test_an_unknown_log_format_stops_the_process() -> None:
    with pytest.raises(ValueError, match="GLEEPOST_LOG_FORMAT must be one of"):
        checked_log_format("xml")


# End to end: the real daphne writing JSON.


def _get(url: str, request_id: str) -> tuple[int, str | None]:
    """The status and the X-Request-ID of the response to a GET sending ``request_id``."""
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["X-Request-ID"]
    except urllib.error.HTTPError as error:
        return error.code, error.headers["X-Request-ID"]


def _login(base: str, password: str) -> tuple[int, Any]:
    body = urllib.parse.urlencode({"email": "alice@example.com", "pass": password}).encode()
    try:
        with urllib.request.urlopen(f"{base}/api/v1/login", data=body, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _lines_of(entries: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    return [e for e in entries if all(e.get(k) == v for k, v in match.items())]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
async def test_every_line_of_a_real_daphne_is_json_with_ids_and_no_credential(
    alice: Member,
) -> None:
    password = "correct horse battery"  # the fixtures' password (tests/conftest.py)
    wrong_token = "0badc0de" * 8
    # Hashed as daphne's settings can check it (the tests' own hasher is not among them);
    # few iterations, to be quick.
    alice.user.password = PBKDF2PasswordHasher().encode(password, "saltsalt", iterations=1000)
    await in_thread(alice.user.save, update_fields=["password"])
    with daphne({"GLEEPOST_LOG_FORMAT": "json"}) as base:
        status, login = await asyncio.to_thread(_login, base, password)
        assert status == 200
        new_token = login["value"]
        assert (await asyncio.to_thread(_login, base, "not the password"))[0] == 400

        user_url = f"{base}/api/v1/user/{alice.id}?id={alice.id}&token={new_token}"
        assert await asyncio.to_thread(_get, user_url, "e2e-request-1") == (200, "e2e-request-1")
        status, generated = await asyncio.to_thread(
            _get, f"{base}/api/v1/conversations", "not a sane id"
        )
        assert status == 401 and re.fullmatch(r"[0-9a-f]{16}", generated or "")

        async with connect(ws_url(base, query=auth_query(alice))) as good:
            good_port = good.local_address[1]
        async with connect(ws_url(base, query=f"id={alice.id}&token={wrong_token}")) as bad:
            bad_port = bad.local_address[1]
            assert json.loads(await bad.recv()) == {"error": "Invalid credentials"}
            await bad.wait_closed()
            assert bad.close_code == CLOSE_INVALID_CREDENTIALS

        process = processes[base]
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 10) == 0
        text = daphne_log_path(urlsplit(base).port or 0).read_text()

    sys.stdout.write(text)  # shown if the test fails
    entries = [json.loads(line) for line in text.splitlines()]
    assert all(isinstance(entry, dict) for entry in entries)
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys()
        assert ISO_UTC.fullmatch(entry["time"])

    # HTTP: the access line and Django's own lines carry the request's id.
    [user_line] = _lines_of(entries, logger="gleepost.access", request_id="e2e-request-1")
    assert user_line["status"] == 200
    assert user_line["path"] == f"/api/v1/user/{alice.id}?id={alice.id}&token=[redacted]"
    refused = _lines_of(entries, request_id=generated)
    assert {e["logger"] for e in refused} == {"gleepost.access", "django.request"}
    assert _lines_of(refused, logger="django.request")[0]["status_code"] == 401

    # Websockets: each connection's lines share its id, from the handshake to the close.
    def connection_lines(port: int) -> list[dict[str, Any]]:
        [opening] = _lines_of(
            entries, message="WSCONNECTING /api/v1/ws", client=f"127.0.0.1:{port}"
        )
        return _lines_of(entries, connection_id=opening["connection_id"])

    good_lines, bad_lines = connection_lines(good_port), connection_lines(bad_port)
    assert good_lines[0]["connection_id"] != bad_lines[0]["connection_id"]
    assert [e["message"] for e in good_lines] == [
        "WSCONNECTING /api/v1/ws",
        "WSCONNECT /api/v1/ws",
        "websocket closed by the client with 1000",
        "WSDISCONNECT /api/v1/ws",
    ]
    assert [e["message"] for e in bad_lines] == [
        "WSCONNECTING /api/v1/ws",
        f"websocket credentials refused: unknown, expired or revoked token of user {alice.id}",
        "WSCONNECT /api/v1/ws",
        f"websocket closed by the server with {CLOSE_INVALID_CREDENTIALS}",
        "WSDISCONNECT /api/v1/ws",
    ]
    assert _lines_of(bad_lines, close_code=CLOSE_INVALID_CREDENTIALS, closed_by="server")

    # Ids stay on their own lines: none leaks onto the server's own, such as the shutdown's.
    shutdown = _lines_of(entries, logger="gleepost.shutdown")
    assert shutdown and not any("request_id" in e or "connection_id" in e for e in shutdown)

    # No credential anywhere: neither token, the wrong one, nor the password in any encoding.
    for secret in (alice.token, new_token, wrong_token, password, "correct+horse+battery"):
        assert secret not in text
    assert "not the password" not in text and "not+the+password" not in text
