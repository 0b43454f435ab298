"""Hostile and broken input (issue 5): whatever a client sends, the consumer answers it with an
``error`` event or a documented close code, never raises, and other connections do not notice.

Frames are thrown at the real ASGI application through ``WebsocketCommunicator``: text and
binary, deeply nested and huge JSON, wrong types in every field, unicode edge cases, frames of
1 MiB. The expected answer of each frame comes from the pure parser (``realtime.frames``, tested on
its own in ``test_frames.py``): a frame it refuses must get exactly that error; one it accepts
may get only the answers its action can cause. Meanwhile another user's connection stays
subscribed, and after every example an event caused through the real actions must reach it, and
nothing else.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from conversations import actions as conversation_actions
from conversations.models import Conversation
from gleepost.asgi import application
from gleepost.json_depth import MAX_JSON_DEPTH, TOO_DEEP
from posts import actions as post_actions
from posts.models import Network, Post
from realtime import history
from realtime.close_codes import CLOSE_NORMAL
from realtime.frames import MAX_FRAME_BYTES, Action, FrameError, Unsubscribe, parse_frame
from tests.conftest import Member
from tests.realtime.conftest import Socket
from tests.realtime.e2e import auth_query, next_event, ws_url

run = database_sync_to_async

# Answered by an error naming this post alone: the end of the answers to the frames before it.
PROBE_POST = 987_654_321_987
PROBE = json.dumps({"action": "SUBSCRIBE", "posts": [PROBE_POST]})
PROBE_ANSWER = {
    "type": "error",
    "location": "/posts",
    "data": {"reason": "not allowed", "posts": [PROBE_POST]},
}
# What a well-formed frame of the fuzzing user can cause on its own connection: refusals,
# subscription counts, a replay of its stream (one new-conversation) or a resync.
ACCEPTED_ANSWER_TYPES = {"error", "views", "resync-required", "new-conversation"}
MIB = 1 << 20


@dataclass(frozen=True)
class Frame:
    """One websocket message: text, or binary when ``text`` is None."""

    text: str | None
    data: bytes | None = None

    def __repr__(self) -> str:  # hypothesis prints failing examples; keep 1 MiB out of them
        body = self.text if self.text is not None else self.data
        shown = repr(body[:200]) + (f"... ({len(body)} long)" if len(body) > 200 else "")
        return f"Frame({'text' if self.text is not None else 'binary'}={shown})"


# ---- Strategies ----

UNICODE_EDGES = [
    "\x00",
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u200b",  # zero width space
    "\ufeff",  # byte order mark
    "\uffff",
    "\U0010ffff",
    "\U0001f642",  # emoji
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",  # emoji joined by ZWJs
    "e\u0301",  # combining acute
    "a" + "\u0301" * 500,  # a tower of combining marks
    "\u0663",  # arabic-indic digit three: isdigit() but not ASCII
    "\u017f",  # long s: upper-cases to S
    "\u0131",  # dotless i: upper-cases to I
    "\uff33\uff35\uff22",  # fullwidth SUB
]
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40) | st.sampled_from(
    UNICODE_EDGES
)
# Lone surrogates cannot cross a real socket as text, but JSON can carry them escaped ("\ud800").
json_texts = texts | st.sampled_from(["\ud800", "\udfff", "a\udc00b", "\udbff\udbff"])
action_names = st.sampled_from(
    [
        *["SUBSCRIBE", "subscribe", "UNSUBSCRIBE", "Unsubscribe", "RESUME", "resume", "typing"],
        *["TYPING", "presence", "PRESENCE", "\u017fubscribe", "typ\u0131ng", "SUBSCRIBE\x00"],
        *["\u202eEBIRCSBUS", " SUBSCRIBE", "publish", ""],
    ]
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([0, -1, 1, 2**53 - 1, 2**53, 2**63, -(2**63), 10**400])
    | st.floats()
    | json_texts
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(json_texts, children, max_size=5)
    ),
    max_leaves=20,
)
FIELDS = ["posts", "networks", "since", "epoch", "conversation", "typing", "form"]


def ids(known: list[int]) -> st.SearchStrategy[Any]:
    """Ids as a client might send them: real ones (its own and another user's), or any value."""
    one = st.sampled_from(known) | st.integers(min_value=1, max_value=2**53 - 1) | json_scalars
    return st.lists(one, max_size=6) | one


def field_values(known: list[int], epoch: str) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "posts": ids(known),
        "networks": ids(known),
        "since": st.integers(min_value=-1, max_value=5) | json_values,
        "epoch": st.just(epoch) | texts | json_values,
        "conversation": st.sampled_from(known) | json_values,
        "typing": st.booleans() | json_values,
        "form": st.sampled_from(["desktop", "mobile", "DESKTOP", "mobile\u200f"]) | json_values,
    }


def action_objects(known: list[int], epoch: str) -> st.SearchStrategy[dict[str, Any]]:
    """Frames shaped like actions, each field right or of a wrong type."""
    values = field_values(known, epoch)
    return st.builds(
        lambda action, fields: {"action": action, **fields},
        action_names | json_values,
        st.fixed_dictionaries({}, optional={name: values[name] for name in FIELDS}),
    )


def json_frame(value: Any, ascii_only: bool) -> Frame:
    text = json.dumps(value, ensure_ascii=ascii_only)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value)  # a lone surrogate: only escaped can it be sent
    return Frame(text)


def as_text(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Frame]:
    return st.builds(json_frame, strategy, st.booleans())


def nested(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    # A well-formed action with a deep unknown attribute: fine until the nesting is too deep.
    return '{"action":"presence","form":"mobile","x":' + "[" * depth + "]" * depth + "}"


deep = st.builds(
    lambda depth, kind: Frame(nested(depth, kind)),
    # Around the bound, around the interpreter's recursion limit (where json.loads once failed
    # or not by the caller's stack depth: issue 13), and anywhere.
    st.sampled_from([MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1])
    | st.integers(min_value=900, max_value=1100)
    | st.integers(min_value=1, max_value=40_000),
    st.sampled_from(["list", "object", "attribute"]),
)


def padded(size: int, unit: str) -> Frame:
    """An UNSUBSCRIBE that changes nothing, padded with ``unit`` to ``size`` bytes of UTF-8 (or
    just past, when the unit does not divide the room)."""
    head = '{"action":"UNSUBSCRIBE","networks":[1],"pad":"'
    tail = '"}'
    room = size - len((head + tail).encode())
    width = len(unit.encode())
    return Frame(head + unit * (room // width) + "x" * (room % width) + tail)


huge = (
    st.builds(
        padded,
        st.sampled_from([MAX_FRAME_BYTES - 1, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, MIB]),
        st.sampled_from(["x", "\u00e9", "\U0001f642", "e\u0301", "\x00"]),
    )
    | st.builds(
        lambda unit, size: Frame((unit * (size // len(unit) + 1))[:size]),
        st.sampled_from(["x", "[", "{", "\U0001f642", '"', "\\"]),
        st.sampled_from([MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, 200_000, MIB]),
    )
    | st.just(Frame(json.dumps({"action": "SUBSCRIBE", "posts": list(range(1, 20_000))})))
    | st.just(Frame('{"action":"SUBSCRIBE","posts":[' + "9" * 5000 + "]}"))
)
binary = st.builds(
    lambda data: Frame(None, data),
    st.binary(max_size=64)
    | st.just(b'{"action":"SUBSCRIBE","posts":[1]}')
    | st.just(b"\xff" * MIB),
)


def frames(known: list[int], epoch: str) -> st.SearchStrategy[Frame]:
    return st.one_of(
        as_text(action_objects(known, epoch)),
        as_text(json_values),
        st.builds(Frame, texts),
        st.builds(lambda value: Frame("\ufeff" + json.dumps(value)), action_objects(known, epoch)),
        deep,
        huge,
        binary,
    )


# ---- The world: the fuzzing user, and another who must not notice ----


@dataclass
class World:
    known_ids: list[int]
    alice_epoch: str
    watched_post: Post
    watched_conversation: Conversation
    carol: Member
    watcher: Socket


@pytest.fixture
async def world(alice: Member, bob: Member, carol: Member, dave: Member) -> AsyncIterator[World]:
    """alice fuzzes; bob watches a post and a conversation of his with carol, from another user."""
    own_network: Network = await run(post_actions.do_create_network)(alice.user, "Alice's")
    own_post = await run(post_actions.do_create_post)(own_network, alice.user, "mine")
    own_conversation, _ = await run(conversation_actions.do_create_conversation)(
        alice.user, [dave.id]
    )
    network = await run(post_actions.do_create_network)(carol.user, "Bob and Carol's")
    await run(post_actions.do_add_network_members)(network, carol.user, [bob.id])
    post = await run(post_actions.do_create_post)(network, carol.user, "watched")
    conversation, _ = await run(conversation_actions.do_create_conversation)(carol.user, [bob.id])
    position = await run(history.current_position)(alice.id)
    watcher = Socket(application, f"/api/v1/ws?{auth_query(bob)}")
    connected, _ = await watcher.connect(timeout=5)
    assert connected
    await watcher.subscribe_posts([post.pk])
    await watcher.send_json_to({"action": "SUBSCRIBE", "networks": [network.pk]})
    await watcher.assert_silent(0.2)
    known = [own_network.pk, own_post.pk, own_conversation.pk, network.pk, post.pk]
    known += [conversation.pk, alice.id, bob.id]
    yield World(known, position.epoch, post, conversation, carol, watcher)
    await watcher.disconnect()


def expected_answer(frame: Frame) -> Action | FrameError:
    try:
        return parse_frame(frame.text, frame.data)
    except FrameError as error:
        return error


async def send(socket: Socket, frame: Frame) -> None:
    # send_input, not send_to: send_to cannot send an empty text frame.
    if frame.text is not None:
        await socket.send_input({"type": "websocket.receive", "text": frame.text})
    else:
        await socket.send_input({"type": "websocket.receive", "bytes": frame.data})


async def answers_until_probe(socket: Socket) -> list[dict[str, Any]]:
    await socket.send_to(text_data=PROBE)
    answers = []
    while (event := await socket.next_event(timeout=5)) != PROBE_ANSWER:
        answers.append(event)
    return answers


async def throw(socket: Socket, frame: Frame) -> bool:
    """Send one frame and check what comes back; False once the connection is closed."""
    expected = expected_answer(frame)
    await send(socket, frame)
    if isinstance(expected, Unsubscribe) and expected.everything:
        assert await socket.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": CLOSE_NORMAL,
        }
        return False
    answers = await answers_until_probe(socket)
    if isinstance(expected, FrameError):
        assert answers == [{"type": "error", "data": {"reason": expected.reason}}]
    else:
        assert {event["type"] for event in answers} <= ACCEPTED_ANSWER_TYPES, answers
    return True


async def watcher_still_hears(world: World, text: str) -> None:
    """Events caused through the real actions reach the other user, and nothing else does."""
    await run(post_actions.do_comment)(world.watched_post, world.carol.user, text)
    await run(conversation_actions.do_send_message)(
        world.watched_conversation, world.carol.user, text
    )
    # Two groups (the post's, the user's): their events may arrive in either order.
    received = [await world.watcher.next_event(), await world.watcher.next_event()]
    assert sorted((event["type"], event["data"]["text"]) for event in received) == [
        ("comment", text),
        ("message", text),
    ]
    assert await world.watcher.receive_nothing(timeout=0.01)


# ---- The tests ----

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one world for every example, on purpose
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
async def test_any_frame_gets_an_answer_or_a_documented_close_and_others_never_notice(
    world: World, alice: Member, data: st.DataObject
) -> None:
    thrown = data.draw(
        st.lists(frames(world.known_ids, world.alice_epoch), min_size=1, max_size=5),
        label="frames",
    )
    socket = Socket(application, f"/api/v1/ws?{auth_query(alice)}")
    connected, _ = await socket.connect(timeout=5)
    assert connected
    try:
        for frame in thrown:
            if not await throw(socket, frame):
                break
    finally:
        # Also surfaces any exception the consumer raised.
        await socket.disconnect()
    await watcher_still_hears(world, f"still here after {len(thrown)}")


@pytest.mark.parametrize(
    "frame",
    [
        Frame("x" * MIB),
        json_frame({"action": "SUBSCRIBE", "posts": [1], "pad": "\U0001f642" * (MIB // 4)}, False),
        Frame(None, b"\x00" * MIB),
        Frame("[" * (MAX_FRAME_BYTES // 2) + "]" * (MAX_FRAME_BYTES // 2)),
        Frame("[" * 30_000),
        Frame('{"action":"RESUME","since":0,"epoch":"\\ud800"}'),
        Frame(""),
        Frame(None, b""),
        Frame("\x00"),
        Frame('{"action":"typing","conversation":1,"typing":true,"x":"\u202e\x00"}'),
        Frame('{"action":"SUBSCRIBE","posts":[' + "9" * 5000 + "]}"),
    ],
    ids=[
        "1 MiB of x",
        "1 MiB of emoji in JSON",
        "1 MiB binary",
        "64 KiB of nesting",
        "unclosed nesting",
        "lone surrogate escaped",
        "empty text",
        "empty binary",
        "NUL",
        "RTL override and NUL in an attribute",
        "5000-digit number",
    ],
)
async def test_each_kind_of_hostile_frame_once(world: World, alice: Member, frame: Frame) -> None:
    """The fuzz test's worst cases, every run, with what the connection answers."""
    socket = Socket(application, f"/api/v1/ws?{auth_query(alice)}")
    connected, _ = await socket.connect(timeout=5)
    assert connected
    try:
        assert await throw(socket, frame)
    finally:
        await socket.disconnect()
    await watcher_still_hears(world, "still here")


@pytest.mark.parametrize(
    ("frame", "too_deep"),
    [
        # nested(n, "attribute") is a presence frame n + 1 levels deep.
        (nested(MAX_JSON_DEPTH - 1, "attribute"), False),
        (nested(MAX_JSON_DEPTH, "attribute"), True),
        (nested(MAX_JSON_DEPTH + 1, "list"), True),
        (nested(990, "attribute"), True),
        (nested(1000, "object"), True),
        ("[" * 30_000, True),
    ],
    ids=["at the bound", "one past it", "a list past it", "990", "1000 objects", "unclosed"],
)
async def test_nesting_is_answered_by_its_depth_alone(
    world: World, alice: Member, frame: str, too_deep: bool
) -> None:
    """The consumer's answer is the documented one, not whatever the parser's stack allowed."""
    socket = Socket(application, f"/api/v1/ws?{auth_query(alice)}")
    connected, _ = await socket.connect(timeout=5)
    assert connected
    try:
        await socket.send_to(text_data=frame)
        answers = await answers_until_probe(socket)
    finally:
        await socket.disconnect()
    assert answers == ([{"type": "error", "data": {"reason": TOO_DEEP}}] if too_deep else [])


@pytest.mark.slow
@pytest.mark.needs_redis
async def test_daphne_takes_a_1_mib_message_and_drops_the_connection_past_it(
    servers: tuple[str, str], alice: Member
) -> None:
    """Past daphne's 1 MiB (autobahn's maxMessagePayloadSize) the service never sees the message:
    daphne drops the TCP connection without a close frame, which the client sees as 1006."""
    async with ws_connect(ws_url(servers[0], query=auth_query(alice))) as socket:
        await socket.send("x" * MIB)
        assert await next_event(socket) == {
            "type": "error",
            "data": {"reason": f"frame too large (at most {MAX_FRAME_BYTES} bytes)"},
        }
        await socket.send("x" * (MIB + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is None
    assert socket.close_code == 1006
    # The process is unharmed.
    async with ws_connect(ws_url(servers[0], query=auth_query(alice))) as socket:
        await socket.send("not json")
        assert await next_event(socket) == {"type": "error", "data": {"reason": "not valid JSON"}}
