"""daphne hands every request body to the application as it came, multipart included.

daphne's request (``daphne.http_protocol.WebRequest``) is Twisted's ``http.Request``, which, before
daphne sees a POST, parses a ``multipart/form-data`` body into ``request.args`` for Twisted's own
resources. daphne never reads ``args`` (the ASGI application gets the raw body and Django parses
it), so the parse only costs: the whole body decoded by ``email.parser`` in memory, and, for a
body it cannot parse (``--b--``, a multipart body with no parts), a bare ``400 Bad Request`` with
no body and no headers, sent by Twisted without the application ever running. That answer was
outside the API's error shape and had no ``X-Request-ID`` (Schemathesis found it on every POST
that takes multipart, tests/gleepost/test_schemathesis.py).

``install()`` wraps ``WebRequest.__init__`` so that every request is built with Twisted's
``parsePOSTFormSubmission=False``: the body reaches Django, whose parser refuses a malformed one
with the API's JSON 400 (gleepost.errors). gleepost.asgi installs it, however daphne is started
(the class is patched, before daphne builds its first request).

Relies on: ``twisted.web.http.Request.__init__`` taking ``parsePOSTFormSubmission`` (Twisted
24.10+), and daphne's ``HTTPFactory`` building each request from ``WebRequest`` (daphne 4.2;
tests/gleepost/extensions/test_daphne_body.py fails if either changes).
Retired by: daphne building its requests with ``parsePOSTFormSubmission=False`` itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from daphne.http_protocol import WebRequest

Init = Callable[..., None]


def unparsed(init: Init) -> Init:
    """``WebRequest.__init__`` that leaves the body to the application."""

    @functools.wraps(init)
    def init_without_form_parsing(self: WebRequest, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **{**kwargs, "parsePOSTFormSubmission": False})

    init_without_form_parsing.leaves_body_unparsed = True  # type: ignore[attr-defined]
    return init_without_form_parsing


def installed() -> bool:
    """True when daphne's requests leave their bodies unparsed in this process."""
    return getattr(WebRequest.__init__, "leaves_body_unparsed", False)


def install() -> None:
    """Build daphne's requests without Twisted's form parsing (once per process)."""
    if not installed():
        WebRequest.__init__ = unparsed(WebRequest.__init__)
