"""Reading request parameters the way the v1 API accepts them.

A parameter may arrive form-encoded in the body, as a key of a JSON object body, or in the query
string (``rest-api.md``, Conventions). Each reader validates and raises a 400 ``ApiError`` with a
reason that names the parameter.
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

# No id in this API is anywhere near this; a bigger number is malformed, not unknown.
MAX_ID = 2**53


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


def string_param(
    request: Request, name: str, *, max_chars: int, min_chars: int = 1, required: bool = True
) -> str | None:
    """A text parameter, stripped of surrounding whitespace, with its length checked."""
    value = raw_param(request, name)
    if value is None:
        if required:
            raise bad_request(f"{name}: required")
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name}: must be a string")
    value = value.strip()
    if "\x00" in value:
        raise bad_request(f"{name}: must not contain NUL characters")
    if len(value) < min_chars:
        raise bad_request(f"{name}: must be at least {min_chars} characters")
    if len(value) > max_chars:
        raise bad_request(f"{name}: must be at most {max_chars} characters")
    return value


def parse_id(value: Any, name: str) -> int:
    """A positive integer id from a string or a JSON number."""
    if isinstance(value, bool):
        raise bad_request(f"{name}: must be a positive integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip()
        if len(text) > 16:
            raise bad_request(f"{name}: must be a positive integer")
        number = int(text)
    else:
        raise bad_request(f"{name}: must be a positive integer")
    if not 0 < number < MAX_ID:
        raise bad_request(f"{name}: must be a positive integer")
    return number


def id_param(request: Request, name: str, *, required: bool = True) -> int | None:
    """One positive integer id parameter."""
    value = raw_param(request, name)
    if value is None or value == "":
        if required:
            raise bad_request(f"{name}: required")
        return None
    return parse_id(value, name)


def int_param(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    """A bounded integer parameter with a default."""
    value = raw_param(request, name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise bad_request(f"{name}: must be an integer")
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 16:
            raise bad_request(f"{name}: must be an integer")
        value = int(text)
    if not isinstance(value, int):
        raise bad_request(f"{name}: must be an integer")
    if not minimum <= value <= maximum:
        raise bad_request(f"{name}: must be between {minimum} and {maximum}")
    return value


def id_list_param(request: Request, name: str, *, max_count: int, min_count: int = 1) -> list[int]:
    """A comma-separated list of ids (or a JSON list), deduplicated in order."""
    value = raw_param(request, name)
    if value is None or value == "" or value == []:
        if min_count > 0:
            raise bad_request(f"{name}: required")
        return []
    if isinstance(value, str):
        if len(value) > 20 * (max_count + 1):
            raise bad_request(f"{name}: at most {max_count} ids")
        items: list[Any] = [item for item in value.split(",")]
    elif isinstance(value, list):
        items = value
    else:
        raise bad_request(f"{name}: must be a comma-separated list of ids")
    ids = list(dict.fromkeys(parse_id(item, name) for item in items))
    if len(ids) < min_count:
        raise bad_request(f"{name}: at least {min_count} ids")
    if len(ids) > max_count:
        raise bad_request(f"{name}: at most {max_count} ids")
    return ids


def bool_param(request: Request, name: str, *, required: bool = True) -> bool | None:
    """A boolean parameter: ``true``/``false`` (or a JSON boolean)."""
    value = raw_param(request, name)
    if value is None:
        if required:
            raise bad_request(f"{name}: required")
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise bad_request(f"{name}: must be true or false")
