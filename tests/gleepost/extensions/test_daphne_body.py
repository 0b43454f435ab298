"""daphne leaves request bodies to Django (gleepost.extensions.daphne): a multipart body Twisted
could not parse is the API's JSON 400, with its request id, from a real daphne process.

The contract tests name what the extension relies on in Twisted and daphne.
"""

from __future__ import annotations

import http.client
import inspect
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from daphne.http_protocol import WebRequest
from daphne.server import HTTPFactory
from twisted.web import http as twisted_http

from gleepost.extensions import daphne as daphne_extension
from posts.actions import do_create_network, do_create_post
from tests.conftest import Member
from tests.servers import daphne

# What the extension relies on in Twisted and daphne.


def test_twisteds_request_takes_the_flag_that_turns_form_parsing_off() -> None:
    parameters = inspect.signature(twisted_http.Request.__init__).parameters
    assert parameters["parsePOSTFormSubmission"].default is True
    # daphne neither parses the body itself nor passes the flag: the parse is Twisted's.
    assert WebRequest.requestReceived is twisted_http.Request.requestReceived
    assert "parsePOSTFormSubmission" not in inspect.getsource(WebRequest)


def test_daphnes_factory_builds_its_requests_from_web_request() -> None:
    assert "protocol.requestFactory = WebRequest" in inspect.getsource(HTTPFactory.buildProtocol)


def test_installing_twice_wraps_once() -> None:
    daphne_extension.install()
    wrapped = WebRequest.__init__
    daphne_extension.install()
    assert WebRequest.__init__ is wrapped
    assert daphne_extension.bodies_installed()


def test_the_wrapped_init_passes_the_flag_off_and_everything_else_on() -> None:
    calls: list[tuple[Any, ...]] = []

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))

    daphne_extension.unparsed(init)(None, "channel", queued=False)
    assert calls == [(("channel",), {"queued": False, "parsePOSTFormSubmission": False})]


# A real daphne process.

EMPTY_MULTIPART = b"--b--\r\n"


def _post(base: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any, Any]:
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=10)
    try:
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_multipart_body_with_no_parts_is_the_apis_json_400_with_a_request_id(
    alice: Member, django_db_blocker: Any
) -> None:
    post = do_create_post(do_create_network(alice.user, "Campus"), alice.user, "hello")
    expected = {
        "/api/v1/login": "email: required",
        f"/api/v1/posts/{post.pk}/likes": "liked: required",
        "/api/v1/videos": "video: required",
    }
    answers = {}
    with django_db_blocker.unblock(), daphne() as base:
        for number, path in enumerate(expected):
            headers = {
                "Content-Type": "multipart/form-data; boundary=b",
                "X-GP-Auth": alice.auth_header,
                "X-Request-ID": f"empty-multipart-{number}",
            }
            answers[path] = _post(base, path, EMPTY_MULTIPART, headers)
    for number, (path, (status, headers, body)) in enumerate(answers.items()):
        assert status == 400, path
        assert headers["Content-Type"] == "application/json", path
        assert headers["X-Request-ID"] == f"empty-multipart-{number}", path
        assert json.loads(body) == {"error": expected[path]}
