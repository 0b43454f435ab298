"""URL patterns with the API's optional trailing slash."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, re_path

# What ``<int:x>`` matches: at most 15 digits, so that no id overflows a database integer.
ID_PATTERN = "[0-9]{1,15}"


def api_route(pattern: str, view: Callable[..., Any], name: str) -> URLPattern:
    """``pattern`` matched with or without a trailing slash; ``<int:x>`` passes ``x`` as an int."""
    regex = pattern
    while "<int:" in regex:
        start = regex.index("<int:")
        end = regex.index(">", start)
        regex = f"{regex[:start]}(?P<{regex[start + 5 : end]}>{ID_PATTERN}){regex[end + 1 :]}"

    @functools.wraps(view)
    def with_int_ids(request: Any, **kwargs: str) -> Any:
        return view(request, **{key: int(value) for key, value in kwargs.items()})

    return re_path(f"^{regex}/?$", with_int_ids, name=name)
