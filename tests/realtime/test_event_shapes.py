"""The resources that events carry, in ``docs/asyncapi.yaml``, against the serializers that
build them: field by field, both ways.

An event's ``data`` that is a resource (a message, a conversation, a notification ...) is built by
the serializer the REST API answers with (``realtime/events.py``). Its schema in the AsyncAPI
document is written by hand; here it is compared with the component drf-spectacular generates
from that serializer, now, for the answer: the same properties (a field the serializer gained
and the document lacks fails, and one the document names that the serializer does not), the
same required ones, and the same kind of value in each (integer, text, time, boolean, list, the
same enum, the same nested resource). The values each builder makes are held to the document,
closed, by ``test_asyncapi.py::test_built_event_matches_its_schema``.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from accounts.actions import do_set_presence
from realtime import events
from realtime.events import PresenceData, TypingData, ViewsData
from tests.conftest import Member
from tests.realtime.schemas import load_document, operation_messages, resolve

# The resources of the AsyncAPI document (``# ---- Resources``) that are REST components too.
RESOURCES = frozenset(
    {"User", "Message", "Read", "Expiry", "Conversation"}
    | {"Notification", "Video", "Post", "Comment"}
)


@cache
def openapi_components() -> dict[str, Any]:
    """The components drf-spectacular generates from the serializers, as the API serves them."""
    schema: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    components: dict[str, Any] = schema["components"]["schemas"]
    return components


def asyncapi_components() -> dict[str, Any]:
    components: dict[str, Any] = load_document()["components"]["schemas"]
    return components


def kind(schema: Any, components: dict[str, Any]) -> Any:
    """What a property holds, as far as both documents say the same thing in their own words:
    ``("ref", "User")`` for a resource, else a type (``time`` for a date-time string), with the
    item kind of a list and the values of an enum."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in RESOURCES:
            return ("ref", name)
        target = components[name] if name in components else resolve(schema["$ref"])
        return kind(target, components)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return kind(schema["allOf"][0], components)
    if "anyOf" in schema:
        kinds = {kind(member, components) for member in schema["anyOf"]}
        # A URL or "" (profile_image): text either way.
        if all(k[0] in {"string", "enum"} for k in kinds):
            return ("string",)
        return ("anyOf", tuple(sorted(map(str, kinds))))
    if "enum" in schema:
        return ("enum", tuple(sorted(schema["enum"])))
    if schema.get("type") == "string" and schema.get("format") == "date-time":
        return ("time",)
    if schema.get("type") == "array":
        return ("array", kind(schema["items"], components))
    return (schema.get("type"),)


def differences(
    name: str, asyncapi: dict[str, Any], openapi: dict[str, Any], seen: set[str] | None = None
) -> list[str]:
    """How the resource ``name`` differs between the two documents, nested resources included."""
    seen = set() if seen is None else seen
    if name in seen:
        return []
    seen.add(name)
    mine, theirs = asyncapi[name], openapi[name]
    found = []
    props, served = set(mine.get("properties", {})), set(theirs.get("properties", {}))
    for field in sorted(served - props):
        found.append(f"{name}.{field}: rendered by the serializer, not in docs/asyncapi.yaml")
    for field in sorted(props - served):
        found.append(f"{name}.{field}: in docs/asyncapi.yaml, not a field of the serializer")
    if set(mine.get("required", [])) != set(theirs.get("required", [])):
        found.append(
            f"{name}: required {sorted(mine.get('required', []))} in docs/asyncapi.yaml, "
            f"{sorted(theirs.get('required', []))} by the serializer"
        )
    for field in sorted(props & served):
        a = kind(mine["properties"][field], asyncapi)
        b = kind(theirs["properties"][field], openapi)
        if a != b:
            found.append(f"{name}.{field}: {a} in docs/asyncapi.yaml, {b} by the serializer")
        for nested in {a, b}:
            refs = [k for k in (nested, nested[-1]) if isinstance(k, tuple) and k[0] == "ref"]
            for ref in refs:
                found += differences(ref[1], asyncapi, openapi, seen)
    return found


def event_data_resources() -> dict[str, str]:
    """Each event type whose ``data`` is a resource, and that resource's name."""
    found = {}
    for message in operation_messages("send").values():
        payload = message["payload"]
        schema = resolve(payload["$ref"]) if "$ref" in payload else payload
        data = schema.get("properties", {}).get("data", {})
        # A resource, or one narrowed (video-ready: a Video whose status is ready).
        for part in [data, *data.get("allOf", [])]:
            if "$ref" in part and part["$ref"].rsplit("/", 1)[-1] in RESOURCES:
                found[schema["properties"]["type"]["const"]] = part["$ref"].rsplit("/", 1)[-1]
    return found


def test_every_event_that_carries_a_resource_is_compared() -> None:
    assert event_data_resources() == {
        "message": "Message",
        "read": "Read",
        "new-conversation": "Conversation",
        "ended-conversation": "Conversation",
        "changed-conversation": "Conversation",
        "notification": "Notification",
        "video-ready": "Video",
        "comment": "Comment",
        "post": "Post",
    }


@pytest.mark.parametrize("resource", sorted(set(event_data_resources().values())))
def test_the_documented_resource_is_the_serializers_field_by_field(resource: str) -> None:
    assert differences(resource, asyncapi_components(), openapi_components()) == []


def test_every_resource_is_reached() -> None:
    seen: set[str] = set()
    for resource in set(event_data_resources().values()):
        differences(resource, asyncapi_components(), openapi_components(), seen)
    assert seen == RESOURCES


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (
            lambda o, a: o["Message"]["properties"].update(edited={"type": "boolean"}),
            "Message.edited: rendered by the serializer, not in docs/asyncapi.yaml",
        ),
        (
            lambda o, a: a["User"]["properties"].update(email={"type": "string"}),
            "User.email: in docs/asyncapi.yaml, not a field of the serializer",
        ),
        (
            lambda o, a: o["Post"]["required"].remove("views"),
            "Post: required",
        ),
        (
            lambda o, a: o["Conversation"]["properties"].update(lastActivity={"type": "integer"}),
            "Conversation.lastActivity: ('time',) in docs/asyncapi.yaml, ('integer',)",
        ),
        (
            lambda o, a: a["Video"]["properties"]["status"]["enum"].append("deleted"),
            "Video.status: ('enum',",
        ),
    ],
)
def test_a_field_that_differs_either_way_is_named(change: Any, complaint: str) -> None:
    openapi, asyncapi = copy.deepcopy(openapi_components()), copy.deepcopy(asyncapi_components())
    change(openapi, asyncapi)
    found = [d for r in sorted(RESOURCES) for d in differences(r, asyncapi, openapi)]
    assert any(d.startswith(complaint) for d in found), found


# ---- The events whose data is not a REST resource ----

EVENT_DATA = {"views": ViewsData, "typing": TypingData, "presence": PresenceData}


def field_kind(field: Any) -> Any:
    """``kind`` of a serializer field, for the few the event-only data declare."""
    if isinstance(field, serializers.ChoiceField):
        return ("enum", tuple(sorted(field.choices)))
    if isinstance(field, serializers.DateTimeField):
        return ("time",)
    if isinstance(field, serializers.BooleanField):
        return ("boolean",)
    if isinstance(field, serializers.IntegerField):
        return ("integer",)
    raise AssertionError(f"no kind for {field!r}")


def data_schema(event_type: str) -> dict[str, Any]:
    for message in operation_messages("send").values():
        payload = message["payload"]
        schema = resolve(payload["$ref"]) if "$ref" in payload else payload
        if schema["properties"]["type"].get("const") == event_type:
            data: dict[str, Any] = schema["properties"]["data"]
            return data
    raise AssertionError(f"no {event_type} event in docs/asyncapi.yaml")


def data_differences(event_type: str, data: dict[str, Any]) -> list[str]:
    fields = EVENT_DATA[event_type]().fields
    documented, declared = set(data["properties"]), set(fields)
    found = [
        f"{event_type}.{n}: declared, not in docs/asyncapi.yaml" for n in declared - documented
    ]
    found += [
        f"{event_type}.{n}: in docs/asyncapi.yaml, not declared" for n in documented - declared
    ]
    if set(data.get("required", [])) != declared:
        found.append(f"{event_type}: required {sorted(data.get('required', []))}")
    for name in sorted(declared & documented):
        mine = kind(data["properties"][name], asyncapi_components())
        if mine != field_kind(fields[name]):
            found.append(f"{event_type}.{name}: {mine}, declared {field_kind(fields[name])}")
    return found


@pytest.mark.parametrize("event_type", sorted(EVENT_DATA))
def test_the_documented_event_data_is_the_declared_field_by_field(event_type: str) -> None:
    assert data_differences(event_type, data_schema(event_type)) == []


def test_event_data_that_differs_is_named() -> None:
    data = copy.deepcopy(data_schema("typing"))
    data["properties"]["typing"] = {"type": "string"}
    data["properties"]["since"] = {"type": "integer"}
    assert data_differences("typing", data) == [
        "typing.since: in docs/asyncapi.yaml, not declared",
        "typing.typing: ('string',), declared ('boolean',)",
    ]


@pytest.mark.django_db
def test_the_builders_render_what_is_declared(alice: Member) -> None:
    at = do_set_presence(alice.user, "desktop")
    user = type(alice.user).objects.get(pk=alice.id)
    built = json.loads(events.presence_event(alice.id, "desktop", at).text)["data"]
    assert built == PresenceData(user).data
    assert json.loads(events.typing_event(3, alice.id, True).text)["data"] == {
        "user": alice.id,
        "conversation": 3,
        "typing": True,
    }
    assert json.loads(events.views_event(3, 7).text)["data"] == {"views": 7}
