"""The form parser: every field as sent, strictly decoded, in a form that cannot change."""

from __future__ import annotations

import io

import pytest
from rest_framework.exceptions import ParseError

from gleepost.parsers import FormParser


def test_a_form_keeps_every_value_and_cannot_be_changed() -> None:
    data = FormParser().parse(io.BytesIO(b"a=1&a=2&b=%C3%A9&c="))
    assert data.getlist("a") == ["1", "2"]
    assert data["b"] == "é"
    assert data["c"] == ""
    with pytest.raises(AttributeError, match="immutable"):
        data["a"] = "3"


def test_a_form_escape_that_does_not_decode_is_refused() -> None:
    with pytest.raises(ParseError, match="not valid utf-8"):
        FormParser().parse(io.BytesIO(b"a=%FF"))
