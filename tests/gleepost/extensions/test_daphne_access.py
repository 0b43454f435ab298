"""No token or password in daphne's logs, however it is started (gleepost.extensions.daphne).

The contract tests name what the extension relies on in daphne; the end-to-end ones start real
daphne processes each way the service can be started and look at everything they wrote.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import daphne.cli as daphne_cli
import pytest
from daphne.access import AccessLogGenerator
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from websockets.asyncio.client import connect

from gleepost.extensions import daphne as daphne_extension
from tests.conftest import Member
from tests.realtime.e2e import auth_query, in_thread, ws_url
from tests.servers import (
    GLEEPOST_SERVER,
    PLAIN_DAPHNE,
    PLAIN_DAPHNE_MODULE,
    daphne,
    daphne_log_path,
)

TOKEN = "3559c8d0e1f2a3b4c5d6e7f8a9b0c1d2"

# What the extension relies on in daphne.


def test_daphnes_command_line_builds_the_class_whose_write_entry_is_wrapped() -> None:
    # daphne.cli creates its access log from this class, which writes each line in this method.
    assert daphne_cli.AccessLogGenerator is AccessLogGenerator
    assert inspect.isfunction(inspect.unwrap(AccessLogGenerator.write_entry))


def test_every_line_of_daphnes_access_log_goes_through_write_entry() -> None:
    daphne_extension.install()
    stream = io.StringIO()
    log = AccessLogGenerator(stream)
    log("http", "complete", _http_details(f"/api/v1/user/1?id=1&token={TOKEN}"))
    log("websocket", "connected", {"client": "127.0.0.1:5", "path": f"/ws?id=1&token={TOKEN}"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert '"GET /api/v1/user/1?id=1&token=[redacted]" 200 79' in lines[0]
    assert '"WSCONNECT /ws?id=1&token=[redacted]"' in lines[1]
    assert TOKEN not in stream.getvalue()


def test_installing_twice_wraps_once() -> None:
    daphne_extension.install()
    wrapped = AccessLogGenerator.write_entry
    daphne_extension.install()
    assert AccessLogGenerator.write_entry is wrapped


def test_each_string_given_to_write_entry_is_redacted() -> None:
    calls: list[tuple[Any, ...]] = []

    def write_entry(self: Any, *args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))

    when = datetime(2026, 12, 1)
    daphne_extension.redacting(write_entry)(None, "h", when, "GET /x?pass=hunter22", status=200)
    assert calls == [(("h", when, "GET /x?pass=[redacted]"), {"status": 200})]


@pytest.mark.parametrize("by_name", [True, False], ids=["by name", "positional"])
def test_the_writer_gets_the_redacted_entry_however_write_entry_is_called(by_name: bool) -> None:
    written: list[tuple[Any, Any]] = []
    daphne_extension.write_access_log_with(lambda stream, entry: written.append((stream, entry)))
    try:
        generator = SimpleNamespace(stream="the stream")
        write = daphne_extension.redacting(AccessLogGenerator.write_entry)
        when, request = datetime(2026, 12, 1), "GET /x?token=abc"
        if by_name:
            write(generator, host="h", date=when, request=request, status=200, length=79)
        else:
            write(generator, "h", when, request, 200, 79)
    finally:
        daphne_extension.write_access_log_with(None)
    assert written == [
        ("the stream", daphne_extension.AccessEntry("h", "GET /x?token=[redacted]", 200, 79))
    ]


def _http_details(path: str) -> dict[str, Any]:
    return {
        "client": "127.0.0.1:5",
        "method": "GET",
        "path": path,
        "status": 200,
        "size": 79,
        "time_taken": 0.01,
    }


# Real daphne processes.

PASSWORD = "Correct-Horse-Battery-42"  # safe in a URL as it is: the log would hold it verbatim
WRONG_PASSWORD = "Correct-Horse-Battery-43"

# Each way of starting daphne: (program, its flags, its environment, whether --access-log FILE).
START_MODES = {
    # As the Channels docs start a project, and the module form of the same.
    "daphne": (PLAIN_DAPHNE, (), {}, False),
    "daphne --access-log FILE": (PLAIN_DAPHNE, (), {}, True),
    "python -m daphne -v 2": (PLAIN_DAPHNE_MODULE, ("-v", "2"), {"LOG_LEVEL": "DEBUG"}, False),
    "daphne -v 2 --access-log FILE": (PLAIN_DAPHNE, ("-v", "2"), {"LOG_LEVEL": "DEBUG"}, True),
    # The service's launcher: scripts/serve, deploy/Procfile and the systemd units run it.
    "python -m gleepost.server": (GLEEPOST_SERVER, (), {}, False),
    "python -m gleepost.server -v 2 --access-log FILE": (
        GLEEPOST_SERVER,
        ("-v", "2"),
        {"LOG_LEVEL": "DEBUG"},
        True,
    ),
}


def _request(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Any:
    """The status and JSON body of a request with no body (what it sends is in the URL)."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def _use_every_credential(base: str, alice: Member) -> list[str]:
    """Authenticate every way a client may, credentials in URLs above all; returns the
    secrets sent or received, which no log may hold."""
    status, _ = await asyncio.to_thread(
        _request, f"{base}/api/v1/conversations?id={alice.id}&token={alice.token}"
    )
    assert status == 200
    login = f"{base}/api/v1/login?email=alice@example.com&pass="
    status, _ = await asyncio.to_thread(_request, login + WRONG_PASSWORD, "POST")
    assert status == 400
    status, issued = await asyncio.to_thread(_request, login + PASSWORD, "POST")
    assert status == 200
    new_token = issued["value"]
    header = {"X-GP-Auth": f"{alice.id}-{new_token}"}
    status, _ = await asyncio.to_thread(_request, f"{base}/api/v1/conversations", "GET", header)
    assert status == 200
    for url, headers in ((ws_url(base, query=auth_query(alice)), {}), (ws_url(base), header)):
        async with connect(url, additional_headers=headers):
            pass
    return [alice.token, new_token, PASSWORD, WRONG_PASSWORD]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", START_MODES)
async def test_no_credential_in_any_log_however_daphne_is_started(
    mode: str, alice: Member, tmp_path: Path
) -> None:
    program, flags, env, to_file = START_MODES[mode]
    # Hashed as daphne's settings can check it (the tests' own hasher is not among them).
    alice.user.password = PBKDF2PasswordHasher().encode(PASSWORD, "saltsalt", iterations=1000)
    await in_thread(alice.user.save, update_fields=["password"])
    access_log = tmp_path / "access.log"
    args = (*flags, "--access-log", str(access_log)) if to_file else flags
    with daphne(extra_env=env, extra_args=args, program=program) as base:
        secrets = await _use_every_credential(base, alice)
    # The process has exited: everything it wrote is on disk.
    output = daphne_log_path(urlsplit(base).port or 0).read_text()
    access = access_log.read_text() if to_file else output
    print(output, access if to_file else "", sep="\n")  # shown if the test fails

    for secret in secrets:
        assert secret not in output and secret not in access
    # The request lines are still there, their credentials redacted.
    assert f"GET /api/v1/conversations?id={alice.id}&token=[redacted]" in access
    assert "POST /api/v1/login?email=alice@example.com&pass=[redacted]" in access
    assert access.count("WSCONNECT /api/v1/ws") == 2
