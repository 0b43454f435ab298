"""Serializer fields that read a parameter the way the v1 API takes it (rest-api.md, Conventions).

A value may come form-encoded (a string), as a JSON value, or in the query string; each field
accepts both forms, refuses with the reason the API gives (``<name>: <reason>``, joined by
``gleepost.params.validated``), and states its rule in the OpenAPI schema through DRF's
validators, which drf-spectacular reads. A limit that is a setting is a callable, read when a
request is validated; the document shows its default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinLengthValidator,
    MinValueValidator,
    RegexValidator,
)
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from gleepost.times import parse_time

# No id in this API is anywhere near this; a bigger number is malformed, not unknown.
MAX_ID = 2**53
# A text parameter is stripped of surrounding whitespace before its length is checked, and holds
# no NUL character.
TEXT_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"
# Ids as a list parameter reads them: comma-separated positive integers. The server also takes
# spaces around an id, leading zeros and 16 digits (below 2**53); the document asks for the plain
# form every client sends.
ID_LIST_PATTERN = r"^[1-9][0-9]{0,14}(,[1-9][0-9]{0,14})*$"

Limit = int | Callable[[], int]


def _value(limit: Limit) -> int:
    return limit() if callable(limit) else limit


class _AbsentWhenEmpty:
    """``""`` and JSON ``null`` are the parameter not given (a default, or ``required``)."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None or data == "":
            data = empty
        return super().validate_empty_values(data)  # type: ignore[misc]


def _length_validators(minimum: Limit, maximum: Limit) -> list[Any]:
    """The length rule of a string, with the API's reasons (and in the document)."""
    return [
        MinLengthValidator(minimum, message="must be at least %(limit_value)s characters"),
        MaxLengthValidator(maximum, message="must be at most %(limit_value)s characters"),
    ]


class _StringField(serializers.CharField):
    """A string parameter: a JSON string or a form value, never another kind, and no NUL."""

    def _checked(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data:
            # As Django's own forms: no NUL, so none can be stored, set or tried.
            self.fail("nul")
        return data


class TextField(_StringField):
    """Text: a string, stripped of surrounding whitespace, 1 to ``max_length`` characters, no
    NUL; ``pattern``, if given, is a rule the stripped text must match, ``pattern_message`` the
    reason when it does not (the document states the pattern)."""

    default_error_messages = {
        "required": "required",
        "null": "required",
        "invalid": "must be a string",
        "blank": "must be at least 1 characters",
        "nul": "must not contain NUL characters",
        "surrogate_characters_not_allowed": "must not contain lone surrogates",
    }

    def __init__(
        self,
        *,
        max_length: Limit,
        pattern: str = TEXT_PATTERN,
        pattern_message: str = "must not be blank",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.validators += [
            RegexValidator(pattern, message=pattern_message),
            *_length_validators(1, max_length),
        ]

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(self._checked(data)))


class PasswordField(_StringField):
    """A password, as typed (surrounding spaces are part of it): a string, no NUL, from
    ``min_length`` to ``max_length`` characters."""

    default_error_messages = {
        "required": "required",
        "null": "required",
        "blank": "required",
        "invalid": "must be a string",
        "nul": "must not contain NUL characters",
    }

    def __init__(self, *, min_length: int, max_length: int, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)
        self.validators += [
            # For the document: to_internal_value refuses a NUL first.
            RegexValidator(r"^[^\x00]*$"),
            *_length_validators(min_length, max_length),
        ]

    def to_internal_value(self, data: Any) -> str:
        return self._checked(data)  # as typed: not stripped


class IdField(_AbsentWhenEmpty, serializers.IntegerField):
    """A positive integer id, as a JSON number or a string of digits."""

    default_error_messages = {
        "required": "required",
        "invalid": "must be a positive integer",
        "min_value": "must be a positive integer",
        "max_value": "must be a positive integer",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID - 1, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        return parse_id(data, self.fail)


def parse_id(value: Any, fail: Callable[[str], Any]) -> int:
    """A positive integer id from a string or a JSON number; ``fail("invalid")`` otherwise."""
    if isinstance(value, bool):
        fail("invalid")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        text = value.strip()
        if len(text) > 16:
            fail("invalid")
        number = int(text)
    else:
        fail("invalid")
    if not 0 < number < MAX_ID:
        fail("invalid")
    return number


class IdListField(_AbsentWhenEmpty, serializers.Field):
    """Ids, comma-separated (or a JSON list of ids), deduplicated in order; 1 to ``max_count``.

    A subclass may render what the ids name instead: ``rendered_as`` is then the serializer of
    one item, for the document (``gleepost.openapi.IdListFieldScheme``).
    """

    rendered_as: type[serializers.BaseSerializer[Any]] | None = None

    default_error_messages = {
        "required": "required",
        "invalid": "must be a comma-separated list of ids",
        "invalid_id": "must be a positive integer",
        "max_count": "at most {max_count} ids",
    }

    def __init__(self, *, max_count: Limit, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_count = max_count

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        return super().validate_empty_values(empty if data == [] else data)

    def to_internal_value(self, data: Any) -> list[int]:
        max_count = _value(self.max_count)
        if isinstance(data, str):
            if len(data) > 20 * (max_count + 1):
                self.fail("max_count", max_count=max_count)
            items: list[Any] = data.split(",")
        elif isinstance(data, list):
            items = data
        else:
            self.fail("invalid")
        ids = list(
            dict.fromkeys(parse_id(item, lambda _: self.fail("invalid_id")) for item in items)
        )
        if len(ids) > max_count:
            self.fail("max_count", max_count=max_count)
        return ids

    def to_representation(self, value: Any) -> Any:
        return value


class BoundedIntField(_AbsentWhenEmpty, serializers.IntegerField):
    """An integer from ``minimum`` to ``maximum``, as a JSON number or a string of digits."""

    default_error_messages = {
        "invalid": "must be an integer",
        "range": "must be between {minimum} and {maximum}",
    }

    def __init__(self, *, minimum: int, maximum: Limit, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum
        # For the document; to_internal_value checks the range first, with the API's reason.
        self.validators += [MinValueValidator(minimum), MaxValueValidator(maximum)]

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, str):
            text = data.strip()
            if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 16:
                self.fail("invalid")
            data = int(text)
        if not isinstance(data, int):
            self.fail("invalid")
        maximum = _value(self.maximum)
        if not self.minimum <= data <= maximum:
            self.fail("range", minimum=self.minimum, maximum=maximum)
        return data


class BoolField(serializers.BooleanField):
    """``true`` or ``false``, as a JSON boolean or a string (any case)."""

    default_error_messages = {
        "required": "required",
        "null": "required",
        "invalid": "must be true or false",
    }

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        return super().validate_empty_values(empty if data is None else data)

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if isinstance(data, str) and data.strip().lower() in {"true", "false"}:
            return data.strip().lower() == "true"
        self.fail("invalid")


@extend_schema_field({"type": "boolean", "enum": [True]})
class TrueField(BoolField):
    """A boolean parameter whose only accepted value is ``true`` (the view says why not)."""


@extend_schema_field({"type": "boolean", "enum": [False]})
class FalseField(BoolField):
    """A boolean parameter whose only accepted value is ``false`` (the view says why not)."""


class TimeField(serializers.DateTimeField):
    """An RFC 3339 time with a time zone (``gleepost.times.parse_time``)."""

    default_error_messages = {
        "required": "required",
        "null": "must be an RFC 3339 time with a time zone",
        "invalid": "must be an RFC 3339 time with a time zone",
    }

    def to_internal_value(self, value: Any) -> datetime:
        parsed = parse_time(value) if isinstance(value, str) else None
        if parsed is None:
            self.fail("invalid")
        return parsed
