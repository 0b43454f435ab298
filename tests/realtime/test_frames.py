"""Client frames: whatever arrives, the parser returns an action or a FrameError, nothing else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import PresenceForm
from gleepost.json_depth import MAX_JSON_DEPTH, TOO_DEEP
from realtime.frames import (
    MAX_FRAME_BYTES,
    MAX_NETWORKS_PER_FRAME,
    PRESENCE_FORMS,
    Action,
    FrameError,
    Presence,
    Resume,
    Subscribe,
    Typing,
    Unsubscribe,
    parse_frame,
)
from tests.stack_depth import at_stack_depth

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
        assert isinstance(action, Subscribe | Unsubscribe | Resume | Typing | Presence)


ACTION_NAMES = ["SUBSCRIBE", "UNSUBSCRIBE", "subscribe", "Unsubscribe", "typing", "TYPING"]
ACTION_NAMES += ["presence", "Presence", "RESUME", "x"]
KEYS = ["posts", "networks", "conversation", "typing", "form", "since", "epoch", "action"]


def _assert_well_formed(action: Action) -> None:
    """What the consumer relies on, whatever the client sent."""
    if isinstance(action, Subscribe | Unsubscribe):
        for ids in (action.posts, action.networks):
            assert all(type(i) is int and 0 < i < 2**53 for i in ids)
            assert len(set(ids)) == len(ids)
        assert len(action.networks) <= MAX_NETWORKS_PER_FRAME
    if isinstance(action, Unsubscribe) and action.everything:
        assert action.posts == () and action.networks == ()
    if isinstance(action, Typing):
        assert type(action.conversation) is int and action.conversation > 0
        assert type(action.typing) is bool
    if isinstance(action, Presence):
        assert action.form in PRESENCE_FORMS


@settings(max_examples=500, deadline=None)
@given(body=json_values, action=st.sampled_from(ACTION_NAMES))
def test_any_json_shape_is_an_action_or_a_frame_error(body: object, action: str) -> None:
    frames = [body, {"action": action, "posts": body}, {"action": action, "networks": body}]
    frames += [{"action": action, "conversation": body, "typing": body}]
    frames += [{"action": action, "form": body}]
    for frame in frames:
        try:
            parsed = parse_frame(json.dumps(frame), None)
        except FrameError as error:
            assert error.reason
            continue
        _assert_well_formed(parsed)


@settings(max_examples=500, deadline=None)
@given(
    action=st.sampled_from(ACTION_NAMES),
    fields=st.dictionaries(st.sampled_from(KEYS[:-1]), json_values, max_size=5),
)
def test_any_mix_of_known_keys_is_an_action_or_a_frame_error(
    action: str, fields: dict[str, object]
) -> None:
    try:
        parsed = parse_frame(json.dumps({"action": action, **fields}), None)
    except FrameError as error:
        assert error.reason
        return
    _assert_well_formed(parsed)


ids = st.lists(st.integers(min_value=1, max_value=2**53 - 1), max_size=30)


@given(posts=st.lists(st.integers(min_value=1, max_value=2**53 - 1), max_size=50))
def test_valid_subscribe_keeps_ids_in_order_without_duplicates(posts: list[int]) -> None:
    parsed = parse_frame(json.dumps({"action": "SUBSCRIBE", "posts": posts}), None)
    assert parsed == Subscribe(tuple(dict.fromkeys(posts)))


@given(posts=ids, networks=ids, with_posts=st.booleans())
def test_valid_network_subscribe_keeps_both_lists(
    posts: list[int], networks: list[int], with_posts: bool
) -> None:
    frame: dict[str, object] = {"action": "subscribe", "networks": networks}
    if with_posts:
        frame["posts"] = posts
    parsed = parse_frame(json.dumps(frame), None)
    expected_posts = tuple(dict.fromkeys(posts)) if with_posts else ()
    assert parsed == Subscribe(expected_posts, tuple(dict.fromkeys(networks)))


@given(posts=ids, networks=ids, with_posts=st.booleans(), with_networks=st.booleans())
def test_unsubscribe_leaves_everything_only_for_an_empty_posts_list(
    posts: list[int], networks: list[int], with_posts: bool, with_networks: bool
) -> None:
    frame: dict[str, object] = {"action": "UNSUBSCRIBE"}
    if with_posts:
        frame["posts"] = posts
    if with_networks:
        frame["networks"] = networks
    if not with_posts and not with_networks:
        with pytest.raises(FrameError):
            parse_frame(json.dumps(frame), None)
        return
    parsed = parse_frame(json.dumps(frame), None)
    assert isinstance(parsed, Unsubscribe)
    assert parsed.everything == (with_posts and not posts and not (with_networks and networks))


@pytest.mark.parametrize(
    ("frame", "everything"),
    [
        ({"action": "UNSUBSCRIBE", "posts": []}, True),
        ({"action": "UNSUBSCRIBE", "posts": [], "networks": []}, True),
        ({"action": "UNSUBSCRIBE", "networks": []}, False),
        ({"action": "UNSUBSCRIBE", "posts": [], "networks": [3]}, False),
        ({"action": "UNSUBSCRIBE", "posts": [1]}, False),
    ],
)
def test_unsubscribe_everything_cases(frame: dict[str, object], everything: bool) -> None:
    parsed = parse_frame(json.dumps(frame), None)
    assert isinstance(parsed, Unsubscribe) and parsed.everything is everything


def test_subscribe_needs_posts_or_networks() -> None:
    with pytest.raises(FrameError, match="posts or networks"):
        parse_frame('{"action": "SUBSCRIBE"}', None)


def test_too_many_networks_in_one_frame() -> None:
    networks = list(range(1, MAX_NETWORKS_PER_FRAME + 2))
    with pytest.raises(FrameError, match="at most"):
        parse_frame(json.dumps({"action": "SUBSCRIBE", "networks": networks}), None)


@given(
    name=st.sampled_from(["typing", "TYPING", "Typing"]),
    conversation=st.integers(min_value=1, max_value=2**53 - 1),
    typing=st.booleans(),
)
def test_valid_typing(name: str, conversation: int, typing: bool) -> None:
    frame = {"action": name, "conversation": conversation, "typing": typing}
    assert parse_frame(json.dumps(frame), None) == Typing(conversation, typing)


@pytest.mark.parametrize(
    "fields",
    [
        {"typing": True},
        {"conversation": 1},
        {"conversation": 1, "typing": 0},
        {"conversation": 1, "typing": None},
        {"conversation": True, "typing": True},
        {"conversation": 1.0, "typing": True},
        {"conversation": -1, "typing": True},
        {"conversation": 2**53, "typing": True},
        {"conversation": [1], "typing": True},
    ],
)
def test_bad_typing_is_a_frame_error(fields: dict[str, object]) -> None:
    with pytest.raises(FrameError):
        parse_frame(json.dumps({"action": "typing", **fields}), None)


@pytest.mark.parametrize("form", ["desktop", "mobile"])
def test_valid_presence(form: str) -> None:
    assert parse_frame(json.dumps({"action": "presence", "form": form}), None) == Presence(form)


@pytest.mark.parametrize("form", [None, "", "tablet", "DESKTOP", 1, ["mobile"], {"m": 1}])
def test_bad_presence_is_a_frame_error(form: object) -> None:
    with pytest.raises(FrameError, match="form"):
        parse_frame(json.dumps({"action": "presence", "form": form}), None)


def test_presence_forms_are_the_models() -> None:
    assert set(PRESENCE_FORMS) == set(PresenceForm.values)


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
    with pytest.raises(FrameError) as refused:
        parse_frame("[" * 30_000 + "]" * 30_000, None)
    assert refused.value.reason == TOO_DEEP


def presence_nested(depth: int, kind: str) -> str:
    """A presence frame whose unknown attribute makes it ``depth`` levels deep in all."""
    inner = "[" * (depth - 1) + "]" * (depth - 1) if kind == "list" else '{"a":' * (depth - 1)
    inner += "" if kind == "list" else "1" + "}" * (depth - 1)
    return '{"action":"presence","form":"mobile","x":' + (inner or "1") + "}"


@pytest.mark.parametrize("kind", ["list", "object"])
def test_nesting_up_to_the_bound_is_parsed_and_past_it_refused(kind: str) -> None:
    assert parse_frame(presence_nested(MAX_JSON_DEPTH, kind), None) == Presence("mobile")
    with pytest.raises(FrameError) as refused:
        parse_frame(presence_nested(MAX_JSON_DEPTH + 1, kind), None)
    assert refused.value.reason == TOO_DEEP


def test_brackets_inside_strings_do_not_nest() -> None:
    # Escaped quotes inside, an escaped backslash at the end: one string all along.
    frame = '{"action":"presence","form":"mobile","x":"' + '\\"[{' * 1000 + '\\\\"}'
    assert parse_frame(frame, None) == Presence("mobile")


def answer(text: str) -> object:
    try:
        return parse_frame(text, None)
    except FrameError as error:
        return error.reason


@pytest.mark.parametrize(
    "depth", [1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 500, 900, 950, 990, 1000, 1100, 10_000]
)
@pytest.mark.parametrize("kind", ["list", "object"])
def test_the_answer_to_nesting_does_not_depend_on_the_callers_stack(depth: int, kind: str) -> None:
    # Once, json.loads raised RecursionError at the interpreter's limit counted from its caller:
    # ~950 levels parsed from a shallow stack and failed from a deep one (issue 13).
    frame = presence_nested(depth, kind)
    expected = Presence("mobile") if depth <= MAX_JSON_DEPTH else TOO_DEEP
    assert answer(frame) == expected
    # Far deeper than the consumer ever runs, and still MAX_JSON_DEPTH frames and more left.
    assert at_stack_depth(MAX_JSON_DEPTH + 20, lambda: answer(frame)) == expected


@pytest.mark.parametrize(
    "name",
    [
        "\u017fub\u017fcribe",  # long s: upper-cases to S
        "\u017fUBSCRIBE",
        "typ\u0131ng",  # dotless i: upper-cases to I
        "presence\u200b",
        "\uff33\uff35\uff22\uff33\uff23\uff32\uff29\uff22\uff25",  # fullwidth SUBSCRIBE
        "SUBSCRIBE\x00",
    ],
)
def test_action_names_are_ascii_letter_cases_only(name: str) -> None:
    # str.upper() maps some non-ASCII letters to ASCII ones; the protocol's letter case is ASCII's.
    frame = {"action": name, "posts": [1], "conversation": 1, "typing": True, "form": "mobile"}
    with pytest.raises(FrameError, match="unknown action"):
        parse_frame(json.dumps(frame, ensure_ascii=False), None)
