"""Django's ORM and request internals, used where hand-written SQL or a websocket needs them.

(The request handler of gleepost.handler, row 26, is not here: it is being replaced by Django's
own ``ASGIHandler``.) What each private use buys (docs/frameworks.md, rows 27-30 and 35):

- **Rows of hand-written SQL as the ORM's instances** (row 28): ``columns``, ``width`` and
  ``instance`` read ``Options.concrete_fields``, ``Field.get_col`` and the converters of the
  column and the backend (``Col.get_db_converters``, ``DatabaseOperations.get_db_converters``,
  copied from ``SQLCompiler.get_converters`` and ``apply_converters``), so that an instance
  built from a row is the one a queryset would have loaded (aware datetimes on SQLite too).
  bench/README.md, "POST a message: CPU per request", "the token lookup in SQL written once":
  ms per POST PG 10: 6.7 → 5.6, PG 50: 8.9 → 7.9, SQLite 10: 5.6 → 5.5, SQLite 50: 8.9 → 7.4.
- **The ORM's rule in hand-written SQL** (row 29): ``condition`` compiles a queryset's
  ``Query.where`` (``Query.get_compiler``, ``SQLCompiler.compile``), so the active-participant
  rule is written once (conversations.queries). Correctness; no figure.
- **Values and names for hand-written SQL** (row 30): ``quote_name`` and ``database_datetime``
  (``DatabaseOperations.quote_name``, ``adapt_datetimefield_value``). bench/README.md: the outbox
  write 6,754 → 683 µs per single-user event; "the send's statements in SQL written once" PG 10:
  5.6 → 3.6 ms per POST.
- **A websocket handshake read as Django reads a request** (row 27): ``handshake_request``
  builds an ``ASGIRequest`` (undocumented) from the websocket's scope, so the Origin check reads
  host and scheme exactly as Django does (realtime.origin; cross-site websocket hijacking).
  Correctness; no figure.
- **The session's user read without writing** (row 35): ``session_user`` gives
  ``django.contrib.auth.get_user`` a ``ReadOnlySession``, relying on which session methods
  ``get_user`` calls (not documented). Correctness: a reading from a websocket rotated or
  flushed the browser's session after a ``SECRET_KEY`` rotation, logging it out
  (tests/realtime/test_access.py).

The POST figures were measured in one process with Django's test client, the outbox write's
with a cProfile script (bench/README.md says how, beside each figure).

Relies on: Django 5.2.19; tests/gleepost/extensions/test_django_contract.py names each
attribute and compares each copied method with a digest of its source.
Retired by: a public API to turn a raw row into a model instance with the ORM's converters
(``QuerySet.raw`` does, but builds its query per call, which is what cost the time), a public
way to compile a queryset's condition, ``ASGIRequest`` documented (or an origin check Django
exposes), and ``get_user`` reading a session without writing (no upstream issue filed yet for
any of them).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVar, cast

from django.contrib.auth import get_user
from django.contrib.sessions.backends.base import SessionBase
from django.core.handlers.asgi import ASGIRequest
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.expressions import Col
from django.http import HttpRequest

M = TypeVar("M", bound=Model)

# Rows of hand-written SQL.


def concrete_fields(model: type[Model]) -> Sequence[Field[Any, Any]]:
    """Every field of ``model`` with a column, in the order of its table's columns here."""
    return cast(Sequence[Field[Any, Any]], model._meta.concrete_fields)


def quote_name(name: str) -> str:
    """A table's or column's name quoted for this connection's SQL."""
    return str(connection.ops.quote_name(name))


def database_datetime(value: datetime) -> Any:
    """An aware datetime as this connection's backend takes it as a parameter."""
    return connection.ops.adapt_datetimefield_value(value)


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of ``model`` in the table aliased ``alias``, in field order: what
    ``instance`` expects, comma-separated for a SELECT list."""
    return _columns(connection.vendor, model, alias)


@functools.cache
def _columns(vendor: str, model: type[Model], alias: str) -> str:
    return ", ".join(f"{alias}.{quote_name(field.column)}" for field in concrete_fields(model))


def width(model: type[Model]) -> int:
    """How many values ``columns(model, …)`` selects."""
    return len(concrete_fields(model))


def condition(queryset: QuerySet[Any]) -> tuple[str, list[Any]]:
    """The WHERE condition of ``queryset`` as its compiler writes it for this connection, its
    columns named by their table (not aliased): hand-written SQL states a rule the ORM defines
    without a copy of it that could drift."""
    query = queryset.query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    return sql, list(params)


def instance(model: type[M], values: Sequence[Any]) -> M:
    """The ``model`` instance of a row selected with ``columns(model, …)``."""
    wrapper = connections[connection.alias]
    converted = list(values)
    for position, column, converters in _converters(wrapper, model):
        value = converted[position]
        for convert in converters:
            value = convert(value, column, wrapper)
        converted[position] = value
    names = [field.attname for field in concrete_fields(model)]
    return model.from_db(wrapper.alias, names, converted)


Converter = Callable[[Any, Col, BaseDatabaseWrapper], Any]
# Per database alias, the columns of each model that need converting: finding the converters
# cost more than applying them. Each thread has its own connection object, but the converters
# of one depend only on the settings of its alias (its time zone), so the first one's serve all.
_CONVERTERS: dict[tuple[str, type[Model]], list[tuple[int, Col, list[Converter]]]] = {}


def _converters(
    wrapper: BaseDatabaseWrapper, model: type[Model]
) -> list[tuple[int, Col, list[Converter]]]:
    """As ``SQLCompiler.get_converters``: the backend's converters, then the field's."""
    found = _CONVERTERS.get((wrapper.alias, model))
    if found is None:
        found = []
        for position, field in enumerate(concrete_fields(model)):
            column = field.get_col(model._meta.db_table)
            converters = [
                *wrapper.ops.get_db_converters(column),
                *column.get_db_converters(wrapper),
            ]
            if converters:
                found.append((position, column, converters))
        _CONVERTERS[(wrapper.alias, model)] = found
    return found


# A websocket's handshake.

# A websocket's ASGI scheme as HttpRequest.scheme names it ("ws" when the scope has none).
_HTTP_SCHEMES = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def handshake_request(scope: dict[str, Any]) -> HttpRequest:
    """The handshake as Django reads an HTTP request with the same headers and scheme."""
    scheme = _HTTP_SCHEMES.get(scope.get("scheme") or "ws", "http")
    return ASGIRequest({**scope, "type": "http", "method": "GET", "scheme": scheme}, io.BytesIO())


# The session's user.


class ReadOnlySession:
    """A session as ``django.contrib.auth.get_user`` reads it, kept from writing.

    ``get_user`` also writes: it flushes a session whose auth hash no longer verifies, and
    rotates one signed with a key of ``SECRET_KEY_FALLBACKS`` (``cycle_key``, a new key for the
    same data). On an HTTP request the response carries the new cookie; read from a websocket
    nothing can, so the browser would be left holding a deleted session, logged out by a
    reading. Here the reading only answers: the browser's next HTTP request does the writing,
    as Django does it. (tests/realtime/test_access.py holds a rotated session unchanged; were
    Django to call anything else on the session, the reading would fail there, loudly.)"""

    def __init__(self, store: SessionBase) -> None:
        self._store = store

    def __getitem__(self, key: str) -> Any:
        return self._store[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._store.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        """Not written: the new hash that ``get_user`` sets after a fallback key matched."""

    def cycle_key(self) -> None:
        """Not rotated here (see the class)."""

    def flush(self) -> None:
        """Not flushed here: the caller ends the connection; the next request flushes it."""


def session_user(session: SessionBase) -> Any:
    """The user of ``session`` as Django reads it (its auth hash verified, with the keys of
    ``SECRET_KEY_FALLBACKS`` too; an inactive user refused: an ``AnonymousUser``), writing
    nothing (``ReadOnlySession``). ``get_user`` reads nothing else of a request."""
    return get_user(cast(HttpRequest, SimpleNamespace(session=ReadOnlySession(session))))
