"""Model instances from hand-written SQL, their values converted as the ORM converts its own.

For the few queries every request runs (the token lookup, the conversation a message goes to),
building the ORM query cost several times the query itself (bench/README.md). Those write
their SQL once with ``columns`` and turn each row back into instances with ``instance``, so the
instances are the ones a queryset would have produced: aware datetimes on SQLite too, and
fields loaded exactly as ``Model.from_db`` loads them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.expressions import Col

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of ``model`` in the table aliased ``alias``, in field order: what
    ``instance`` expects, comma-separated for a SELECT list."""
    return _columns(connection.vendor, model, alias)


@functools.cache
def _columns(vendor: str, model: type[Model], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """How many values ``columns(model, …)`` selects."""
    return len(model._meta.concrete_fields)


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
    names = [field.attname for field in model._meta.concrete_fields]
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
        for position, field in enumerate(model._meta.concrete_fields):
            column = field.get_col(model._meta.db_table)
            converters = [
                *wrapper.ops.get_db_converters(column),
                *column.get_db_converters(wrapper),
            ]
            if converters:
                found.append((position, column, converters))
        _CONVERTERS[(wrapper.alias, model)] = found
    return found
