"""The bound on JSON nesting (gleepost.json_depth), and the REST parser that applies it."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from gleepost.json_depth import MAX_JSON_DEPTH, TOO_DEEP, nests_deeper_than
from gleepost.parsers import JSONParser
from tests.stack_depth import at_stack_depth


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    return 0


# Strings full of brackets, quotes and backslashes: none of them nests.
tricky_text = st.text(alphabet='[]{}"\\,:ab\u00e9\U0001f642', max_size=8)
json_values = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3)
    ),
    max_leaves=60,
)


def chain(depth: int, kind: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


@settings(max_examples=500, deadline=None)
@given(value=json_values | st.builds(chain, st.integers(0, 60), st.sampled_from(["list", "x"])))
def test_the_depth_of_valid_json_is_exact(value: Any) -> None:
    depth = depth_of(value)
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert nests_deeper_than(text, depth) is False
        if depth > 0:
            assert nests_deeper_than(text, depth - 1) is True


# Fragments of JSON in any order, openers the likeliest: mostly not JSON at all.
fragments = st.lists(
    st.sampled_from(["[", "[", "[", "{", '{"a":', "]", "}", '"', "\\", ",", "1", '"[{"', "[]"]),
    max_size=300,
)


def parser_headroom() -> int:
    """The fewest frames left before the recursion limit in which json.loads parses a text
    MAX_JSON_DEPTH deep (the parser's own frames, and one per level)."""
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    for frames_left in range(MAX_JSON_DEPTH, MAX_JSON_DEPTH + 100):
        try:
            at_stack_depth(frames_left, lambda: json.loads(text))
        except RecursionError:
            continue
        return frames_left
    raise AssertionError("json.loads needs more than 100 frames of its own")


HEADROOM = parser_headroom()


@settings(max_examples=1000, deadline=None)
@given(parts=fragments)
def test_a_text_said_shallow_never_nests_the_parser_deeper(parts: list[str]) -> None:
    # The guarantee the parsers rely on: whatever the text, valid or not, if it is said to be
    # within the bound, json.loads never recurses past it (one level more would not fit here).
    text = "".join(parts)
    if nests_deeper_than(text):
        return
    # Not JSON (ValueError) is refused too, but not for its depth.
    with contextlib.suppress(ValueError):
        at_stack_depth(HEADROOM, lambda: json.loads(text))


@pytest.mark.parametrize(
    "text", ["[" * (MAX_JSON_DEPTH + 1), "[]" + "[" * (MAX_JSON_DEPTH + 1), '{"a":' * 40]
)
def test_unclosed_nesting_past_the_bound_is_too_deep(text: str) -> None:
    assert nests_deeper_than(text)


def parse(body: str) -> Any:
    return JSONParser().parse(io.BytesIO(body.encode()), "application/json", {})


def test_a_rest_body_at_the_bound_is_parsed_and_past_it_refused() -> None:
    at_bound = '{"a":' + json.dumps(chain(MAX_JSON_DEPTH - 1, "list")) + "}"
    assert parse(at_bound)["a"] == chain(MAX_JSON_DEPTH - 1, "list")
    with pytest.raises(ParseError) as refused:
        parse('{"a":' + json.dumps(chain(MAX_JSON_DEPTH, "list")) + "}")
    assert refused.value.detail == TOO_DEEP


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 950, 990, 1000, 100_000])
def test_a_rest_body_is_refused_for_its_depth_whatever_the_stack(depth: int) -> None:
    body = '{"a":' + "[" * depth + "]" * depth + "}"
    for call in (
        lambda: parse(body),
        lambda: at_stack_depth(MAX_JSON_DEPTH + 20, lambda: parse(body)),
    ):
        with pytest.raises(ParseError) as refused:
            call()
        assert refused.value.detail == TOO_DEEP
