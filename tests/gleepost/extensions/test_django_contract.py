"""What the project relies on in Django beyond its documented API (docs/frameworks.md): what
gleepost.extensions.django relies on (the ORM internals of hand-written SQL, a handshake read as
a request, a session read without writing). Each test fails naming the name or the copied
method, and our module."""

from __future__ import annotations

import pytest
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field
from django.db.models.expressions import Col
from django.db.models.options import Options
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.query import Query

from tests.gleepost.extensions.contracts import require, require_in_source, require_unchanged

DJANGO = "django"
AUDITED = "5.2.19"


def test_django_asgi_request_from_a_scope_and_a_body() -> None:
    require_in_source(
        ASGIRequest.__init__,
        "def __init__(self, scope, body_file)",
        meaning="ASGIRequest(scope, body_file)",
        used_by="gleepost.extensions.django.handshake_request",
        distribution=DJANGO,
    )


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (Field, "get_col"),
        (Col, "get_db_converters"),
        (BaseDatabaseOperations, "get_db_converters"),
        (Query, "get_compiler"),
        (SQLCompiler, "compile"),
        (Options, "concrete_fields"),
    ],
)
def test_django_orm_internals_of_hand_written_rows(owner: object, name: str) -> None:
    require(
        owner, name, used_by="gleepost.extensions.django (columns, instance)", distribution=DJANGO
    )


def test_django_query_where_compiles_to_a_condition() -> None:
    from accounts.models import User

    query = User.objects.filter(is_active=True).query
    require(query, "where", used_by="gleepost.extensions.django.condition", distribution=DJANGO)
    sql, _ = query.get_compiler(connection=connection).compile(query.where)
    assert "is_active" in sql, f"Query.where no longer compiles to the filter's condition: {sql}"


@pytest.mark.parametrize(
    ("name", "digest"),
    [("get_converters", "5b222e61b5f20105"), ("apply_converters", "8d732980244b38c4")],
)
def test_django_compiler_converters_copied(name: str, digest: str) -> None:
    require_unchanged(
        getattr(SQLCompiler, name),
        digest,
        copy="gleepost.extensions.django._converters and instance",
        distribution=DJANGO,
        audited=AUDITED,
    )


@pytest.mark.parametrize("name", ["adapt_datetimefield_value", "quote_name"])
def test_django_database_operations_of_hand_written_sql(name: str) -> None:
    require(
        BaseDatabaseOperations,
        name,
        used_by="gleepost.extensions.django (quote_name, database_datetime)",
        distribution=DJANGO,
    )


def test_django_get_user_uses_only_what_a_read_only_session_gives() -> None:
    """gleepost.extensions.django.ReadOnlySession stands for the session ``get_user`` reads: it
    must not call anything on it the read-only view lacks (it would fail loudly, but only then)."""
    import inspect
    import re

    from django.contrib import auth

    from gleepost.extensions.django import ReadOnlySession

    source = inspect.getsource(auth.get_user) + inspect.getsource(auth._get_user_session_key)
    called = set(re.findall(r"request\.session\.(\w+)", source))
    given = {name for name in vars(ReadOnlySession) if not name.startswith("_")}
    assert called <= given, (
        f"django.contrib.auth.get_user now calls session.{sorted(called - given)} (django "
        f"{AUDITED} audited): gleepost.extensions.django.ReadOnlySession does not give it; "
        "re-review it"
    )
    # Subscripts (read and write) are the other ways it touches the session.
    assert "request.session[" in source
