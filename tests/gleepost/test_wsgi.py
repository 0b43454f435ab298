"""gleepost.wsgi: REST under a WSGI server (gunicorn, deploy/); the client's address behind
nginx."""

from __future__ import annotations

import io
from typing import Any

import pytest

from gleepost import wsgi


def seen_address(application: Any, environ: dict[str, Any]) -> str:
    """What REMOTE_ADDR the wrapped application saw."""
    seen: dict[str, str] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen["address"] = environ["REMOTE_ADDR"]
        return [b""]

    application.app = app
    application(environ, lambda *args: None)
    return seen["address"]


@pytest.mark.parametrize(
    ("forwarded", "expected"),
    [
        # nginx replaces the client's list with the one address it saw.
        ("203.0.113.9", "203.0.113.9"),
        # A list (a proxy that appends): its first address, as daphne --proxy-headers takes it.
        ("203.0.113.9, 10.0.0.2", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        # Nothing forwarded: the peer's own address.
        (None, "127.0.0.1"),
        ("", "127.0.0.1"),
    ],
)
def test_the_client_address_is_the_first_forwarded_one(
    forwarded: str | None, expected: str
) -> None:
    environ = {"REMOTE_ADDR": "127.0.0.1"}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    assert seen_address(wsgi.ForwardedFor(lambda *a: []), environ) == expected


def test_forwarded_addresses_are_taken_only_when_the_setting_says_so(settings: Any) -> None:
    settings.GLEEPOST = {}
    assert not isinstance(wsgi.wsgi_application(), wsgi.ForwardedFor)
    settings.GLEEPOST = {"PROXY_HEADERS": "1"}  # as the REST unit's environment sets it
    assert isinstance(wsgi.wsgi_application(), wsgi.ForwardedFor)


# Django's handler checks the thread's database connection as each request starts and ends
# (close_old_connections): with one left open by an earlier test on the same worker, that check
# is database access, so whether the test passed depended on the order the tests ran in.
@pytest.mark.django_db
def test_a_request_through_the_wsgi_application_is_answered_by_django() -> None:
    statuses: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/healthz",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8101",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
    }
    body = b"".join(wsgi.application(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["200 OK"]
    assert b"ok" in body
