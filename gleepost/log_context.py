"""The ids that tie log lines to what they were about: an HTTP request, a websocket connection.

Held in context variables, so they follow the work through async code: an asyncio task copies
the context it was created in, and ``sync_to_async`` (Channels' for websockets, Django's ASGI
handler's for HTTP requests) carries it into the thread that runs Django's sync code.
gleepost.server sets them where daphne creates each request's and each connection's application
instance; gleepost.logs.ContextFilter puts them on every record.

Kept free of Django imports: the daphne entry point uses it before Django is set up.
"""

from __future__ import annotations

import contextvars
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

REQUEST_ID_HEADER = "X-Request-ID"
# What an incoming X-Request-ID may be to be kept (a proxy's UUID, a client's trace id);
# anything else (too long, spaces, quotes, control characters) is replaced by a fresh id, so a
# client cannot write arbitrary text into every log line of its request.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_P = ParamSpec("_P")
_R = TypeVar("_R")

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("connection_id", default=None)


def new_id() -> str:
    """A fresh id: 16 hex digits, unique enough to find one request among a day's logs."""
    return secrets.token_hex(8)


def request_id_from(header: str | bytes | None) -> str:
    """The request id for an incoming ``X-Request-ID`` value: kept if sane, else a new one."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    if header is not None and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return new_id()


@contextmanager
def ids_bound(*, request: str | None = None, connection: str | None = None) -> Iterator[None]:
    """Within the block (and in tasks created in it), log records carry these ids."""
    tokens = []
    if request is not None:
        tokens.append((request_id, request_id.set(request)))
    if connection is not None:
        tokens.append((connection_id, connection_id.set(connection)))
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


def run_unbound(function: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
    """Call ``function`` with no id bound, in a fresh context, as do tasks and callbacks it
    schedules (they copy the context they are created in).

    For work that serves the whole process (a background task, the shutdown), started from
    wherever it happens to be first needed: in a connection's context its log lines would
    carry that connection's id long after the connection has gone."""
    return contextvars.Context().run(function, *args, **kwargs)
