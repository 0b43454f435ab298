"""``docs/asyncapi.yaml``: a sound AsyncAPI 3.0 document whose schemas say what the server sends.

Checks the document's structure, that its schemas accept the examples of the user's protocol
(``shared/spec/websockets.md``) and reject wrong events and frames, and that every event builder
of ``realtime/events.py`` produces, from real objects, an event its schema accepts.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from jsonschema import Draft7Validator, Draft202012Validator

from conversations import actions as conversation_actions
from conversations.models import Conversation
from gleepost.conf import DEFAULTS
from notifications import actions as notification_actions
from notifications.models import Notification
from posts import actions as post_actions
from realtime import events, frames
from realtime.consumer import credentials
from realtime.throttling import TELL_INTERVAL_SECS
from tests.conftest import SPEC_FOLDER, Member
from tests.realtime.schemas import (
    HANDSHAKE_ERROR_MESSAGE,
    event_types,
    load_document,
    operation_messages,
    resolve,
    stream_event_types,
    validate_event,
    validate_frame,
)
from videos import actions as video_actions

SPEC_PATH = SPEC_FOLDER / "websockets.md"
PROTOCOL_DOC = Path(__file__).resolve().parents[2] / "docs" / "websocket-protocol.md"

# Which events are on the user's stream (every other is live-only): the code's one list.
STREAM_TYPES = events.STREAM_EVENT_TYPES


def _walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def _refs() -> list[tuple[str, str]]:
    return [
        (path, node["$ref"])
        for path, node in _walk(load_document())
        if isinstance(node, dict) and isinstance(node.get("$ref"), str)
    ]


def _payload_schema(message: dict[str, Any]) -> dict[str, Any]:
    payload = message["payload"]
    schema: dict[str, Any] = resolve(payload["$ref"]) if "$ref" in payload else payload
    return schema


class TestDocumentStructure:
    def test_is_an_asyncapi_3_0_0_document(self) -> None:
        document = load_document()
        assert document["asyncapi"] == "3.0.0"
        assert isinstance(document["info"]["title"], str)
        assert isinstance(document["info"]["version"], str)
        assert document["defaultContentType"] == "application/json"
        # YAML turns unquoted times into datetimes; the document must be plain JSON data.
        assert json.loads(json.dumps(document)) == document

    def test_every_ref_is_local_and_resolves(self) -> None:
        refs = _refs()
        assert len(refs) > 50
        for path, ref in refs:
            assert ref.startswith("#/"), f"{path}: {ref} is not a local reference"
            try:
                resolve(ref)
            except (KeyError, IndexError, ValueError):
                pytest.fail(f"{path}: {ref} does not resolve")

    def test_no_schema_keyword_sits_beside_a_ref(self) -> None:
        # Draft-07, AsyncAPI's default schema format, ignores keywords beside a $ref; 2020-12
        # applies them. Keeping $ref alone makes both read the schemas the same way.
        for path, node in _walk(load_document()):
            if isinstance(node, dict) and "$ref" in node:
                assert set(node) == {"$ref"}, f"{path} has {sorted(node)}"

    def test_component_keys_are_valid_names(self) -> None:
        for section, entries in load_document()["components"].items():
            for key in entries:
                assert re.fullmatch(r"[\w.\-]+", key), f"components/{section}/{key}"

    def test_servers_speak_websocket_or_http_with_the_documented_credentials(self) -> None:
        document = load_document()
        for name, server in document["servers"].items():
            assert server["protocol"] in {"ws", "wss", "http", "https"}, name
            assert isinstance(server["host"], str), name
            for host_variable in re.findall(r"{(\w+)}", server["host"]):
                assert host_variable in server["variables"], name
            schemes = [resolve(item["$ref"]) for item in server["security"]]
            assert {(s["type"], s["in"], s["name"]) for s in schemes} == {
                ("httpApiKey", "query", "token"),
                ("httpApiKey", "header", "X-GP-Auth"),
                ("httpApiKey", "cookie", "sessionid"),
            }

    def test_the_websocket_and_its_two_http_transports_on_their_servers(self) -> None:
        document = load_document()
        channels = document["channels"]
        assert {name: c["address"] for name, c in channels.items()} == {
            "websocket": "/api/v1/ws",
            "events": "/api/v1/events",
            "longpoll": "/api/v1/longpoll",
        }
        for name, channel in channels.items():
            protocols = {resolve(s["$ref"])["protocol"] for s in channel["servers"]}
            assert protocols == ({"ws", "wss"} if name == "websocket" else {"http", "https"})
        # The HTTP transports carry every event the websocket does, and nothing else.
        sent = {key for key in channels["websocket"]["messages"] if not key.endswith("Action")}
        for name in ("events", "longpoll"):
            assert set(channels[name]["messages"]) == sent, name
        for name in ("sendServerSentEvents", "answerLongPoll"):
            binding = document["operations"][name]["bindings"]["http"]
            assert binding["method"] == "GET"
            Draft7Validator.check_schema(binding["query"])
            assert {"id", "token", "since", "epoch"} <= set(binding["query"]["properties"])

    def test_one_websocket_channel_with_its_query_parameters(self) -> None:
        channel = load_document()["channels"]["websocket"]
        assert channel["address"] == "/api/v1/ws"
        binding = channel["bindings"]["ws"]
        assert binding["method"] == "GET"
        assert binding["bindingVersion"] == "0.1.0"
        assert binding["query"]["type"] == "object"
        assert set(binding["query"]["properties"]) == {"id", "token", "since", "epoch"}
        assert binding["headers"]["type"] == "object"
        assert "X-GP-Auth" in binding["headers"]["properties"]
        for schema in (binding["query"], binding["headers"]):
            Draft7Validator.check_schema(schema)
            Draft202012Validator.check_schema(schema)

    def test_operations_send_events_and_receive_actions_of_their_channel(self) -> None:
        document = load_document()
        actions = {op["action"] for op in document["operations"].values()}
        assert actions == {"send", "receive"}
        used: dict[str, list[str]] = {name: [] for name in document["channels"]}
        for name, operation in document["operations"].items():
            channel_ref = operation["channel"]["$ref"]
            for reference in operation["messages"]:
                # AsyncAPI 3.0: an operation's messages are those of its channel.
                assert reference["$ref"].startswith(f"{channel_ref}/messages/"), name
                used[channel_ref.rsplit("/", 1)[-1]].append(reference["$ref"].rsplit("/", 1)[-1])
        for channel, keys in used.items():
            channel_messages = document["channels"][channel]["messages"]
            assert sorted(keys) == sorted(channel_messages), f"{channel}: each in one operation"
            for key, entry in channel_messages.items():
                assert entry == {"$ref": f"#/components/messages/{key}"}

    def test_every_message_has_a_json_payload_that_is_a_valid_json_schema(self) -> None:
        messages = load_document()["components"]["messages"]
        # Every message is the channel's (so one of the operations', checked above).
        channels = load_document()["channels"].values()
        assert set(messages) == {key for channel in channels for key in channel["messages"]}
        for key, message in messages.items():
            assert message["contentType"] == "application/json", key
            assert isinstance(message["name"], str), key
            schema = _payload_schema(message)
            Draft202012Validator.check_schema(schema)
            Draft7Validator.check_schema(schema)
            assert message["examples"], f"{key} has no example"

    def test_every_component_schema_is_a_valid_json_schema(self) -> None:
        for key, schema in load_document()["components"]["schemas"].items():
            Draft202012Validator.check_schema(schema)
            Draft7Validator.check_schema(schema)
            assert isinstance(schema, dict), key

    def test_message_examples_match_their_payloads(self) -> None:
        for key, message in operation_messages("send").items():
            for example in message["examples"]:
                try:
                    validate_event(example["payload"])
                except AssertionError as error:
                    pytest.fail(f"example of {key}: {error}")
        for key, message in operation_messages("receive").items():
            for example in message["examples"]:
                try:
                    validate_frame(example["payload"])
                except AssertionError as error:
                    pytest.fail(f"example of {key}: {error}")

    def test_event_message_names_are_their_types(self) -> None:
        for key, message in operation_messages("send").items():
            type_schema = _payload_schema(message).get("properties", {}).get("type")
            if type_schema is None:
                assert key == "invalidCredentials"
                continue
            assert message["name"] == type_schema["const"], key

    def test_type_enum_lists_every_event_type(self) -> None:
        enum = load_document()["components"]["schemas"]["EventType"]["enum"]
        assert sorted(enum) == sorted(event_types())

    def test_each_event_is_stream_or_live_as_the_code_says_and_its_title_tells(self) -> None:
        assert stream_event_types() == STREAM_TYPES
        for key, message in operation_messages("send").items():
            if key == HANDSHAKE_ERROR_MESSAGE:
                continue
            kind = "stream" if message["name"] in STREAM_TYPES else "live"
            assert message["title"] == f"{message['name']} ({kind})", key
            for example in message["examples"]:
                event = example["payload"]
                if kind == "stream":
                    with pytest.raises(AssertionError, match="'seq' is a required"):
                        validate_event({k: v for k, v in event.items() if k != "seq"})
                else:
                    with pytest.raises(AssertionError, match="live-only"):
                        validate_event({**event, "seq": 1, "epoch": "x"})

    def test_limits_are_those_of_the_code(self) -> None:
        channel = load_document()["channels"]["websocket"]
        limits = channel["x-limits"]
        assert limits["maxFrameBytes"] == frames.MAX_FRAME_BYTES == 64 * 1024
        assert (
            limits["maxPostSubscriptionsPerConnectionDefault"]
            == DEFAULTS["MAX_SUBSCRIPTIONS_PER_CONNECTION"]
        )
        assert (
            limits["maxNetworkSubscriptionsPerConnectionDefault"]
            == DEFAULTS["MAX_NETWORK_SUBSCRIPTIONS_PER_CONNECTION"]
        )
        assert (
            limits["maxFramesPerSecondPerConnectionDefault"] == DEFAULTS["MAX_FRAMES_PER_SEC"] == 20
        )
        assert limits["rateLimitedErrorsPerSecondPerConnection"] == 1 / TELL_INTERVAL_SECS
        assert limits["maxRefusedFramesBeforeCloseDefault"] == DEFAULTS["MAX_REFUSED_FRAMES"]
        assert limits["refusedFramesWindowSecondsDefault"] == DEFAULTS["REFUSED_FRAMES_WINDOW_SECS"]
        assert limits["maxConnectionsPerUserDefault"] == DEFAULTS["MAX_CONNECTIONS_PER_USER"]
        assert (
            limits["maxTypingAndPresenceFramesForwardedPerSecondPerConnectionDefault"]
            == DEFAULTS["MAX_TYPING_FRAMES_PER_SEC"]
            == DEFAULTS["MAX_PRESENCE_FRAMES_PER_SEC"]
        )
        post_ids = load_document()["components"]["schemas"]["PostIds"]
        assert post_ids["maxItems"] == frames.MAX_POSTS_PER_FRAME
        assert post_ids["items"] == {"$ref": "#/components/schemas/ClientId"}
        assert resolve("#/components/schemas/ClientId")["maximum"] == frames.MAX_ID - 1
        assert resolve("#/components/schemas/Epoch")["maxLength"] == frames.MAX_EPOCH_CHARS
        validate_event(json.loads(credentials.INVALID_CREDENTIALS))


# ---- The examples of the user's protocol ----


def _spec_examples() -> list[tuple[str, dict[str, Any]]]:
    if not SPEC_PATH.exists():
        return []
    text = SPEC_PATH.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    examples = []
    for index, block in enumerate(re.findall(r"```json\n(.*?)```", text, flags=re.S)):
        value, end = decoder.raw_decode(block.strip())
        # The spec's changed-conversation example ends with one closing brace too many; the
        # event itself is the JSON object before it.
        assert block.strip()[end:].strip() in {"", "}"}, f"block {index} is not one JSON object"
        label = value.get("type") or value.get("action")
        examples.append((f"{index}-{label}", value))
    return examples


SPEC_EXAMPLES = _spec_examples()
# Skipped on a laptop without the spec, failed in CI (tests/conftest.py).
needs_spec = pytest.mark.needs_spec


def spec_examples_with(key: str) -> list[Any]:
    """The spec's examples that have ``key``; without the spec, one stand-in, so that the test
    exists and its ``needs_spec`` skips it or (in CI) fails it, rather than pytest skipping
    an empty parameter set whatever CI says."""
    found = [pytest.param(e, id=label) for label, e in SPEC_EXAMPLES if key in e]
    return found or [pytest.param(None, id="spec-missing")]


def as_the_server_sends(example: dict[str, Any]) -> dict[str, Any]:
    """A spec example event with what the server adds to it now, or strips from it."""
    event = copy.deepcopy(example)
    if event["type"] in STREAM_TYPES:
        # The spec predates resumable streams: each stream event now carries its position.
        event.setdefault("seq", 1)
        event.setdefault("epoch", "x")
    else:
        # Live-only events never carry a position.
        event.pop("seq", None)
        event.pop("epoch", None)
    if event["type"] == "notification":
        # rest-api.md's notification shape has "seen" (the server always sends it); the spec's
        # example was written before it.
        event["data"].setdefault("seen", False)
    return event


@needs_spec
def test_spec_has_an_example_of_every_original_event_and_action() -> None:
    labels = {label.split("-", 1)[1] for label, _ in SPEC_EXAMPLES}
    assert labels == STREAM_TYPES | {"views", "SUBSCRIBE", "UNSUBSCRIBE"}
    assert len(SPEC_EXAMPLES) == 12


@needs_spec
@pytest.mark.parametrize(
    "example",
    spec_examples_with("type"),
)
def test_spec_event_example_validates_as_the_server_sends_it(example: dict[str, Any]) -> None:
    validate_event(as_the_server_sends(example))


@needs_spec
@pytest.mark.parametrize(
    "example",
    spec_examples_with("action"),
)
def test_spec_action_example_validates(example: dict[str, Any]) -> None:
    validate_frame(example)


@needs_spec
def test_spec_stream_examples_as_written_lack_the_position() -> None:
    # Said plainly, so that nobody mistakes them for what the server sends now.
    for _, example in SPEC_EXAMPLES:
        if example.get("type") in STREAM_TYPES:
            with pytest.raises(AssertionError, match="'seq' is a required property"):
                validate_event(example)


def _doc_examples() -> list[Any]:
    text = PROTOCOL_DOC.read_text(encoding="utf-8")
    examples = []
    for block in re.findall(r"```json\n(.*?)```", text, flags=re.S):
        try:
            examples.append(json.loads(block))
        except ValueError:
            # A block of one-line frames, one per line.
            examples += [json.loads(line) for line in block.splitlines() if line.strip()]
    return examples


def test_every_example_of_the_prose_document_matches_the_schemas() -> None:
    examples = _doc_examples()
    assert len(examples) > 25
    for example in examples:
        if "action" in example:
            validate_frame(example)
        else:
            validate_event(example)
    # asyncapi.yaml's examples are the canonical ones (test_message_examples_match_their_payloads
    # wants one for every type); the prose need not show every type, but what it shows is right.
    shown = {example["type"] for example in examples if "type" in example}
    assert shown <= event_types()


# ---- Wrong events and frames are rejected ----

USER = {"id": 9, "username": "Patrick", "profile_image": ""}
MESSAGE = {
    "type": "message",
    "location": "/conversations/67",
    "data": {
        "id": 1173,
        "by": USER,
        "text": "hello",
        "timestamp": "2013-12-12T15:20:54.665361Z",
        "seen": False,
    },
    "seq": 3,
    "epoch": "5f2a9c1e",
}
VIEWS = {"type": "views", "location": "/posts/123", "data": {"views": 355}}
NOTIFICATION = {
    "type": "notification",
    "location": "/notifications",
    "data": {
        "id": 596,
        "type": "commented",
        "time": "2013-12-16T14:33:40.260990Z",
        "user": USER,
        "seen": False,
        "post": 123,
    },
    "seq": 4,
    "epoch": "5f2a9c1e",
}


def _changed(base: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    event = copy.deepcopy(base)
    change(event)
    return event


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def change(event: dict[str, Any]) -> None:
        node = event
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def change(event: dict[str, Any]) -> None:
        node = event
        for key in parents:
            node = node[key]
        del node[last]

    return change


WRONG_EVENTS = [
    ("missing data", _changed(MESSAGE, _drop("data")), "'data' is a required property"),
    ("seq a string", _changed(MESSAGE, _set("seq", "3")), "is not of type 'integer'"),
    ("seq zero", _changed(MESSAGE, _set("seq", 0)), "less than the minimum"),
    ("epoch a number", _changed(MESSAGE, _set("epoch", 5)), "is not of type 'string'"),
    ("stream event without seq", _changed(MESSAGE, _drop("seq")), "'seq' is a required"),
    ("stream event without epoch", _changed(MESSAGE, _drop("epoch")), "'epoch' is a required"),
    ("views with seq", {**VIEWS, "seq": 1}, "live-only"),
    ("views with epoch", {**VIEWS, "epoch": "x"}, "live-only"),
    ("message without by", _changed(MESSAGE, _drop("data.by")), "'by' is a required"),
    ("message by without id", _changed(MESSAGE, _drop("data.by.id")), "'id' is a required"),
    (
        "time without Z",
        _changed(MESSAGE, _set("data.timestamp", "2013-12-12T15:20:54.665361")),
        "does not match",
    ),
    (
        "time with an offset instead of Z",
        _changed(MESSAGE, _set("data.timestamp", "2013-12-12T15:20:54.665361+00:00")),
        "does not match",
    ),
    ("seen not a boolean", _changed(MESSAGE, _set("data.seen", "no")), "not of type 'boolean'"),
    ("group not an id", _changed(MESSAGE, _set("data.group", "campus")), "not of type"),
    (
        "message located at a post",
        _changed(MESSAGE, _set("location", "/posts/1")),
        "does not match",
    ),
    ("message without location", _changed(MESSAGE, _drop("location")), "'location' is a required"),
    ("unknown type", _changed(MESSAGE, _set("type", "messages")), "unknown event type"),
    ("no type and no error", _changed(MESSAGE, _drop("type")), "unknown event type None"),
    (
        "notification about a post without the post",
        _changed(NOTIFICATION, _drop("data.post")),
        "'post' is a required",
    ),
    (
        "notification of an unknown type",
        _changed(NOTIFICATION, _set("data.type", "poked")),
        "is not one of",
    ),
    (
        "video-ready of a video not ready",
        {
            "type": "video-ready",
            "location": "/videos/1",
            "data": {"id": 1, "status": "processing"},
            "seq": 1,
            "epoch": "x",
        },
        "'ready' was expected",
    ),
    (
        "video-ready without its files",
        {
            "type": "video-ready",
            "location": "/videos/1",
            "data": {"id": 1, "status": "ready"},
            "seq": 1,
            "epoch": "x",
        },
        "'mp4' is a required",
    ),
    ("negative views", _changed(VIEWS, _set("data.views", -1)), "less than the minimum"),
    (
        "refused posts without their ids",
        {"type": "error", "location": "/posts", "data": {"reason": "not allowed"}},
        "'posts' is a required",
    ),
    (
        "refused networks with an empty list",
        {
            "type": "error",
            "location": "/networks",
            "data": {"reason": "not allowed", "networks": []},
        },
        "should be non-empty",
    ),
    ("error without reason", {"type": "error", "data": {}}, "'reason' is a required"),
    (
        "resync-required with a seq of its own",
        {"type": "resync-required", "data": {"since": 4, "epoch": "x"}, "seq": 5},
        "live-only",
    ),
    (
        "resync-required without epoch",
        {"type": "resync-required", "data": {"since": 4}},
        "'epoch' is a required",
    ),
    (
        "typing as a string",
        {
            "type": "typing",
            "location": "/conversations/1",
            "data": {"user": 2, "conversation": 1, "typing": "yes"},
        },
        "not of type 'boolean'",
    ),
    (
        "presence of an unknown form",
        {
            "type": "presence",
            "location": "/user/2",
            "data": {"user": 2, "form": "tablet", "at": "2013-12-16T14:42:00.000000Z"},
        },
        "is not one of",
    ),
    (
        "comment without timestamp",
        {"type": "comment", "location": "/posts/1", "data": {"id": 1, "by": USER, "text": "x"}},
        "'timestamp' is a required",
    ),
    (
        "post without network",
        {
            "type": "post",
            "location": "/networks/5/posts",
            "data": {
                "id": 1,
                "by": USER,
                "text": "x",
                "timestamp": "2013-12-16T14:41:00.123456Z",
                "views": 0,
            },
        },
        "'network' is a required",
    ),
    ("another handshake error", {"error": "Nope"}, "'Invalid credentials' was expected"),
]


@pytest.mark.parametrize(
    ("event", "complaint"),
    [pytest.param(event, complaint, id=name) for name, event, complaint in WRONG_EVENTS],
)
def test_wrong_event_is_rejected_with_a_readable_reason(
    event: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        validate_event(event)


def test_new_attributes_are_allowed_everywhere_as_clients_read_the_document() -> None:
    # The protocol's compatibility rule: events and resources may gain attributes.
    event = copy.deepcopy(MESSAGE)
    event["priority"] = "high"
    event["data"]["edited"] = False
    event["data"]["by"]["presence"] = {"form": "mobile"}
    validate_event(event, closed=False)
    validate_event({**VIEWS, "data": {"views": 1, "unique": 1}}, closed=False)


@pytest.mark.parametrize(
    ("event", "where"),
    [
        pytest.param({**MESSAGE, "priority": "high"}, "at $:", id="envelope"),
        pytest.param(_changed(MESSAGE, _set("data.edited", False)), "at $.data:", id="resource"),
        pytest.param(
            _changed(MESSAGE, _set("data.by.presence", "mobile")), "at $.data.by:", id="nested"
        ),
        pytest.param(
            {**VIEWS, "data": {"views": 1, "unique": 1}}, "at $.data:", id="live-only event"
        ),
    ],
)
def test_what_the_server_sends_may_carry_no_attribute_the_document_does_not_name(
    event: dict[str, Any], where: str
) -> None:
    # Every event a test receives is checked this way (tests/realtime/conftest.py, e2e.py).
    with pytest.raises(AssertionError, match=re.escape(where) + ".*was unexpected"):
        validate_event(event)


@pytest.mark.parametrize(
    "frame",
    [
        {"action": "SUBSCRIBE", "posts": [123, 456]},
        {"action": "subscribe", "networks": [5]},
        {"action": "SubScribe", "posts": [1], "networks": [5]},
        {"action": "SUBSCRIBE", "posts": []},
        {"action": "UNSUBSCRIBE", "posts": []},
        {"action": "unsubscribe", "networks": [5]},
        {"action": "RESUME", "since": 0, "epoch": "5f2a9c1e"},
        {"action": "resume", "since": 41, "epoch": "5f2a9c1e"},
        {"action": "typing", "conversation": 67, "typing": False},
        {"action": "presence", "form": "mobile"},
    ],
)
def test_valid_frame_is_accepted(frame: dict[str, Any]) -> None:
    validate_frame(frame)


@pytest.mark.parametrize(
    ("frame", "complaint"),
    [
        ({"action": "SUBSCRIBE"}, "'posts' is a required"),
        ({"action": "SUBSCRIBE", "posts": [0]}, "less than the minimum"),
        ({"action": "SUBSCRIBE", "posts": ["123"]}, "not of type 'integer'"),
        ({"action": "SUBSCRIBE", "posts": [True]}, "not of type 'integer'"),
        ({"action": "SUBSCRIBE", "posts": [2**53]}, "greater than the maximum"),
        ({"action": "SUBSCRIBE", "posts": list(range(1, 1002))}, "is too long"),
        ({"action": "UNSUBSCRIBE", "networks": "5"}, "not of type 'array'"),
        ({"action": "RESUME", "since": 4}, "'epoch' is a required"),
        ({"action": "RESUME", "since": -1, "epoch": "x"}, "less than the minimum"),
        ({"action": "RESUME", "since": "4", "epoch": "x"}, "not of type 'integer'"),
        ({"action": "typing", "typing": True}, "'conversation' is a required"),
        ({"action": "typing", "conversation": 1, "typing": 1}, "not of type 'boolean'"),
        ({"action": "presence", "form": "tablet"}, "is not one of"),
        ({"action": "PUBLISH", "posts": [1]}, "unknown action 'PUBLISH'"),
        ({"posts": [1]}, "unknown action None"),
    ],
)
def test_wrong_frame_is_rejected_with_a_readable_reason(
    frame: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        validate_frame(frame)


# ---- Every builder of realtime/events.py, from real objects ----


@pytest.fixture
def world(
    alice: Member, bob: Member, carol: Member, tmp_path: Path, settings: Any
) -> SimpleNamespace:
    """Objects made through the actions, as the REST views and the admin make them."""
    live, _ = conversation_actions.do_create_conversation(alice.user, [bob.id], live=True)
    message = conversation_actions.do_send_message(live, alice.user, "hello")
    conversation_actions.do_mark_read(live, bob.user, message.pk)
    regular, _ = conversation_actions.do_create_conversation(alice.user, [bob.id, carol.id])
    made_regular, _ = conversation_actions.do_create_conversation(alice.user, [bob.id], live=True)
    conversation_actions.do_make_regular(made_regular)
    made_regular.refresh_from_db()
    ended, _ = conversation_actions.do_create_conversation(alice.user, [carol.id], live=True)
    conversation_actions.do_end_conversation(ended)

    network = post_actions.do_create_network(alice.user, "Campus")
    post_actions.do_add_network_members(network, alice.user, [bob.id])
    post = post_actions.do_create_post(network, alice.user, "hello campus")
    post_actions.do_record_views(bob.user, [(post.pk, timezone.now())])
    post.refresh_from_db()
    comment = post_actions.do_comment(post, bob.user, "nice")
    notification_actions.do_request_contact(carol.user, alice.id)

    settings.MEDIA_ROOT = str(tmp_path / "media")
    outputs = []
    for name in ("out.mp4", "out.webm", "thumb.jpg"):
        path = tmp_path / name
        path.write_bytes(b"not really " + name.encode())
        outputs.append(path)
    video = video_actions.do_upload_video(
        alice.user, SimpleUploadedFile("clip.mp4", b"raw bytes", "video/mp4")
    )
    video_actions.do_mark_video_ready(video, *outputs)
    video.refresh_from_db()

    return SimpleNamespace(
        alice=alice.user,
        bob=bob.user,
        live=live,
        message=message,
        regular=regular,
        made_regular=made_regular,
        ended=ended,
        network=network,
        post=post,
        comment=comment,
        commented=Notification.objects.get(recipient=alice.user, type="commented"),
        added_you=Notification.objects.get(recipient=alice.user, type="added_you"),
        video=video,
    )


def _group_message(world: SimpleNamespace) -> Any:
    """A message in a conversation that belongs to a network: it carries ``group``."""
    Conversation.objects.filter(pk=world.regular.pk).update(group=world.network)
    world.regular.refresh_from_db()
    return conversation_actions.do_send_message(world.regular, world.alice, "hello group")


BUILDERS: list[tuple[str, Callable[[SimpleNamespace], events.Event]]] = [
    ("message", lambda w: events.message_event(w.message)),
    ("message in a group conversation", lambda w: events.message_event(_group_message(w))),
    ("read", lambda w: events.read_event(w.live.pk, w.bob.pk, w.message.pk)),
    ("new-conversation live", lambda w: events.new_conversation_event(w.live)),
    ("new-conversation regular", lambda w: events.new_conversation_event(w.regular)),
    ("ended-conversation", lambda w: events.ended_conversation_event(w.ended)),
    ("changed-conversation", lambda w: events.changed_conversation_event(w.made_regular)),
    ("notification about a post", lambda w: events.notification_event(w.commented)),
    ("notification about a user", lambda w: events.notification_event(w.added_you)),
    ("video-ready", lambda w: events.video_ready_event(w.video)),
    ("views", lambda w: events.views_event(w.post.pk, w.post.views_count)),
    ("error", lambda w: events.error_event("not valid JSON")),
    ("error refused posts", lambda w: events.not_allowed_posts_event([w.post.pk, 999])),
    ("error refused networks", lambda w: events.not_allowed_networks_event([w.network.pk, 999])),
    (
        "error refused typing",
        lambda w: events.conversation_refused_event(w.live.pk, "not allowed"),
    ),
    ("comment", lambda w: events.comment_event(w.comment)),
    ("post", lambda w: events.post_event(w.post)),
    ("typing", lambda w: events.typing_event(w.live.pk, w.bob.pk, True)),
    ("presence", lambda w: events.presence_event(w.bob.pk, "mobile", timezone.now())),
    ("resync-required", lambda w: events.resync_required_event(5, "5f2a9c1e")),
]


@pytest.mark.django_db
@pytest.mark.parametrize("build", [pytest.param(build, id=name) for name, build in BUILDERS])
def test_built_event_matches_its_schema(
    build: Callable[[SimpleNamespace], events.Event], world: SimpleNamespace
) -> None:
    event = json.loads(build(world).text)
    if event["type"] in STREAM_TYPES:
        # Builders make the envelope; recording the event on a user's stream adds the position.
        event.setdefault("seq", 1)
        event.setdefault("epoch", "x")
    validate_event(event)


def test_every_event_type_has_a_builder_case() -> None:
    covered = {name.split(" ")[0] for name, _ in BUILDERS}
    assert covered == event_types()


# ---- The document against the code: every event type built, every client action parsed ----


def _calls_in(path: str) -> Iterator[ast.Call]:
    for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            yield node


def _built_event_types() -> set[str]:
    """The ``type`` of every ``Event(...)`` that realtime/events.py constructs."""
    found = set()
    for call in _calls_in(events.__file__):
        if isinstance(call.func, ast.Name) and call.func.id == "Event":
            first = call.args[0] if call.args else None
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                f"realtime/events.py:{call.lineno}: an event's type is a literal, so that it "
                "can be checked against docs/asyncapi.yaml"
            )
            found.add(first.value)
    return found


def _parsed_actions() -> set[str]:
    """The action names ``frames.parse_frame`` acts on (its ``name == "..."`` tests)."""
    source = inspect.getsource(frames.parse_frame)
    names = set()
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Name)
            and node.left.id == "name"
            and isinstance(node.comparators[0], ast.Constant)
        ):
            names.add(node.comparators[0].value)
    return names


def test_every_event_built_by_the_code_is_documented_and_every_documented_one_is_built() -> None:
    built = _built_event_types()
    assert len(built) >= 14, built
    assert built - event_types() == set(), "built in realtime/events.py, not in docs/asyncapi.yaml"
    assert event_types() - built == set(), "in docs/asyncapi.yaml, built nowhere in events.py"
    assert stream_event_types() == events.STREAM_EVENT_TYPES


def test_every_client_action_parsed_is_documented_and_every_documented_one_is_parsed() -> None:
    documented = operation_messages("receive")
    assert _parsed_actions() == {message["name"].upper() for message in documented.values()}
    for key, message in documented.items():
        for example in message["examples"]:
            action = frames.parse_frame(json.dumps(example["payload"]), None)
            # SUBSCRIBE is read as a Subscribe, typing as a Typing, and so on.
            assert type(action).__name__.upper() == message["name"].upper(), key
