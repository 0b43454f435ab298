"""Reading request parameters the way the v1 API accepts them, into the serializer that
declares them.

A parameter may arrive form-encoded in the body, as a key of a JSON object body, or in the query
string (``rest-api.md``, Conventions). ``validated`` gathers the writable fields of a serializer
from there and validates each with its field (``gleepost.fields``), raising a 400 ``ApiError``
with a reason that names the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField, empty
from rest_framework.request import Request

from gleepost.errors import bad_request


def raw_param(request: Request, name: str) -> Any:
    """The raw value of a parameter from the body or the query string, or None.

    Given twice (twice in a form, or in both the body and the query string) it is a 400:
    which of two values was meant is a guess the API does not make.
    """
    data = request.data
    if isinstance(data, Mapping) and name in data:
        if name in request.query_params:
            raise bad_request(f"{name}: given more than once")
        getter = getattr(data, "getlist", None)
        if getter is not None:
            values = getter(name)
            if len(values) > 1:
                raise bad_request(f"{name}: given more than once")
            return values[0] if values else None
        return data[name]
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise bad_request(f"{name}: given more than once")
    return values[0] if values else None


Validator = type[serializers.Serializer[Any]]


def validated(request: Request, serializer_class: Validator) -> dict[str, Any]:
    """The request's parameters, validated by the writable fields of ``serializer_class``, or a
    400 naming the first one that is wrong (``text: required``)."""
    values = {}
    for name in _writable(serializer_class):
        value = raw_param(request, name)
        if value is not None:
            values[name] = value
    return checked(values, serializer_class)


def checked(
    values: Mapping[str, Any], serializer_class: Validator, *, prefix: str = ""
) -> dict[str, Any]:
    """``values`` validated by the writable fields of ``serializer_class`` (absent: not a key),
    or a 400 naming the first that is wrong, after ``prefix`` (``views[0].``)."""
    serializer = _validator(serializer_class)
    data: dict[str, Any] = {}
    for name in _writable(serializer_class):
        try:
            data[name] = serializer.fields[name].run_validation(values.get(name, empty))
        except SkipField:
            continue
        except ValidationError as error:
            raise bad_request(f"{prefix}{name}: {_first(error.detail)}") from None
    try:
        return dict(serializer.validate(data))
    except ValidationError as error:
        raise bad_request(_first(error.detail)) from None


@cache
def _writable(serializer_class: Validator) -> tuple[str, ...]:
    fields = _validator(serializer_class).fields
    return tuple(name for name, field in fields.items() if not field.read_only)


@cache
def _validator(serializer_class: Validator) -> serializers.Serializer[Any]:
    # One instance per class, its fields bound once: is_valid() on a new serializer rebuilds
    # every field first (deep copies, model introspection), ~230 µs for MessageSerializer
    # against ~10 µs for its one writable field's run_validation, on every message sent (a POST
    # costs ~3.5 ms). Validating keeps no state on a field; a limit read from the settings is a
    # callable each field reads when it validates.
    return serializer_class()


def _first(detail: Any) -> str:
    while isinstance(detail, (list, dict)):
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail)
