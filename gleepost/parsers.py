"""Reading request bodies (rest-api.md, Conventions: JSON, form-encoded or multipart), strictly.

DRF's own parsers guess where they should refuse: a form body that is not valid UTF-8 is read
with replacement characters (or as Latin-1), a JSON string may hold a lone surrogate that the
database cannot store, duplicate JSON keys silently keep the last value, and a deeply nested
JSON body raises RecursionError (at a depth that depends on the caller's stack). Each of those
is a 400 here, before any view sees the data; nesting is bounded by gleepost.json_depth.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from gleepost.json_depth import TOO_DEEP, nests_deeper_than

# Multipart text fields are decoded by Django with errors="replace", which leaves this behind.
REPLACEMENT_CHARACTER = "\ufffd"


class JSONParser(parsers.JSONParser):
    """A JSON object, with unique keys and text that is valid Unicode."""

    top_level: type = dict

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = _encoding(parser_context)
        try:
            text = stream.read().decode(encoding)
            if nests_deeper_than(text):
                raise ParseError(TOO_DEEP)
            data = json.loads(
                text,
                object_pairs_hook=_object_with_unique_keys,
                parse_constant=_no_constant,
            )
        except RecursionError as error:
            # Only a caller already within MAX_JSON_DEPTH frames of the recursion limit.
            raise ParseError(TOO_DEEP) from error
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, the checks above
            raise ParseError(f"JSON parse error - {error}") from error
        if not isinstance(data, self.top_level):
            raise ParseError("the body must be a JSON object")
        _require_unicode_text(data)
        return data


class AnyJSONParser(JSONParser):
    """Any JSON value at the top level, for a view that checks the shape itself and says what
    it expected (``views/posts`` reads a list)."""

    top_level = object


class FormParser(parsers.BaseParser):
    """A form-encoded body that decodes, escapes included, in its charset (UTF-8 by default)."""

    media_type = "application/x-www-form-urlencoded"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> QueryDict:
        encoding = _encoding(parser_context)
        try:
            text = stream.read().decode(encoding)
            # Checked strictly first: QueryDict would replace what does not decode.
            parse_qsl(
                text,
                keep_blank_values=True,
                encoding=encoding,
                errors="strict",
                max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
            )
        except UnicodeDecodeError as error:
            raise ParseError(f"form body is not valid {encoding}") from error
        except ValueError as error:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
            raise ParseError(f"form body: {error}") from error
        # Immutable, as Django's request.POST; the same pairs, now known to decode.
        return QueryDict(text, encoding=encoding)


class MultiPartParser(parsers.MultiPartParser):
    """Multipart, whose text fields must be valid UTF-8 (Django would replace bad bytes)."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> parsers.DataAndFiles:
        result = super().parse(stream, media_type, parser_context)
        for key, values in [*result.data.lists(), *result.files.lists()]:
            texts = [key, *(value for value in values if isinstance(value, str))]
            if any(REPLACEMENT_CHARACTER in text for text in texts):
                raise ParseError("multipart fields must be valid UTF-8")
        return result


def _encoding(parser_context: Any) -> str:
    """The body's charset (UTF-8 unless the Content-Type names another); text codecs only."""
    encoding = str((parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET)
    try:
        # str.encode refuses bytes-to-bytes codecs such as bz2_codec, which would inflate a
        # small body past every size limit.
        "".encode(encoding)
    except (LookupError, UnicodeError) as error:
        raise ParseError(f"unsupported charset {encoding[:40]!r}") from error
    return encoding


def _object_with_unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a key appears more than once in an object")
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _require_unicode_text(data: Any) -> None:
    """Refuse strings (keys included) that cannot be encoded, i.e. lone surrogates."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _require_encodable(item)
        elif isinstance(item, Mapping):
            for key, value in item.items():
                _require_encodable(key)
                pending.append(value)
        elif isinstance(item, list):
            pending.extend(item)


def _require_encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ParseError("JSON strings must be valid Unicode: no lone surrogates") from error
