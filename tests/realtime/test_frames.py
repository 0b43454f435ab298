"""Client frames: whatever arrives, the parser returns an action or a FrameError, nothing else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime.frames import MAX_FRAME_BYTES, FrameError, Subscribe, Unsubscribe, parse_frame

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=2000), st.none()), data=st.binary(max_size=200))
def test_any_frame_is_an_action_or_a_frame_error(text: str | None, data: bytes) -> None:
    try:
        action = parse_frame(text, data if text is None else None)
    except FrameError as error:
        assert error.reason
    else:
        assert isinstance(action, Subscribe | Unsubscribe)


@settings(max_examples=500, deadline=None)
@given(body=json_values, action=st.sampled_from(["SUBSCRIBE", "UNSUBSCRIBE", "subscribe", "x"]))
def test_any_json_shape_is_an_action_or_a_frame_error(body: object, action: str) -> None:
    for frame in (body, {"action": action, "posts": body}):
        try:
            parsed = parse_frame(json.dumps(frame), None)
        except FrameError:
            continue
        assert all(isinstance(p, int) and p > 0 for p in parsed.posts)


@given(posts=st.lists(st.integers(min_value=1, max_value=2**53 - 1), max_size=50))
def test_valid_subscribe_keeps_ids_in_order_without_duplicates(posts: list[int]) -> None:
    parsed = parse_frame(json.dumps({"action": "SUBSCRIBE", "posts": posts}), None)
    assert parsed == Subscribe(tuple(dict.fromkeys(posts)))


@pytest.mark.parametrize("size", [MAX_FRAME_BYTES + 1, 1024 * 1024])
def test_oversized_frames_are_refused_before_parsing(size: int) -> None:
    with pytest.raises(FrameError, match="too large"):
        parse_frame('{"action":"SUBSCRIBE","posts":[]' + " " * size + "}", None)


def test_multibyte_text_is_measured_in_bytes() -> None:
    frame = '{"action":"SUBSCRIBE","posts":[],"x":"' + "é" * (MAX_FRAME_BYTES // 2) + '"}'
    assert len(frame) < MAX_FRAME_BYTES
    with pytest.raises(FrameError, match="too large"):
        parse_frame(frame, None)


def test_deeply_nested_json_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match="not valid JSON"):
        parse_frame("[" * 30_000 + "]" * 30_000, None)
