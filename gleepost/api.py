"""The base of every API view: how a request is read and an answer chosen (rest-api.md,
Conventions).

- Bodies are read by the strict parsers of ``gleepost.parsers``.
- A write's body is read before the view acts, even where the view needs none of it (DELETE,
  logout): a body that cannot be read is a 400 and nothing is done, never silently ignored.
- A query string must be valid UTF-8 (Django would put replacement characters in its place).
- The answer is JSON whatever the ``Accept`` header says: the API speaks nothing else, and the
  spec has no 406.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from gleepost.errors import bad_request
from gleepost.parsers import FormParser, JSONParser, MultiPartParser


class JSONOnly(DefaultContentNegotiation):
    """DRF's choice of parser; the first renderer (JSON) always, whatever ``Accept`` says."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, str(renderer.media_type)


class ApiView(APIView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    content_negotiation_class = JSONOnly

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _require_utf8_query_string(request)
        if request.method not in SAFE_METHODS:
            # Raises ParseError or UnsupportedMediaType (both 400) for a body it cannot read.
            request.data  # noqa: B018


def _require_utf8_query_string(request: Request) -> None:
    query = str(request.META.get("QUERY_STRING") or "")
    if "%" not in query:
        return
    try:
        unquote_to_bytes(query.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError as error:
        raise bad_request("Malformed query string: not valid UTF-8") from error
