"""The websocket protocol's JSON Schemas (``docs/asyncapi.yaml``), to check what tests see.

``validate_event`` checks a frame the server sent, ``validate_frame`` one a client sends; both
raise AssertionError saying what does not match. The document is loaded once; each payload schema
is validated as JSON Schema 2020-12, its ``$ref``s resolved inside the document.

What the server sends is held to the document closed: every object with ``properties`` takes no
others. The protocol lets events and resources gain attributes, and clients must ignore what
they do not know (the published document is open); the server's own events may not carry an
attribute the document does not name, so that the document cannot fall behind the code.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ASYNCAPI_PATH = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
DOCUMENT_URI = "urn:gleepost:asyncapi"
# The one server message that is not an event: the handshake's answer to bad credentials.
HANDSHAKE_ERROR_MESSAGE = "invalidCredentials"
STREAM_POSITION_REF = "#/components/schemas/StreamPosition"


@cache
def load_document() -> dict[str, Any]:
    """The AsyncAPI document, parsed once."""
    with ASYNCAPI_PATH.open(encoding="utf-8") as file:
        document: dict[str, Any] = yaml.safe_load(file)
    return document


def resolve(ref: str) -> Any:
    """What a local ``$ref`` (``#/a/b``) of the document points at; KeyError if nothing."""
    if not ref.startswith("#/"):
        raise KeyError(f"not a local reference: {ref}")
    node: Any = load_document()
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and set(node) == {"$ref"}:
        node = resolve(node["$ref"])
    return node


def operation_messages(action: str) -> dict[str, dict[str, Any]]:
    """The messages of the operations with ``action`` (send: the server's), by component key."""
    found: dict[str, dict[str, Any]] = {}
    for operation in load_document()["operations"].values():
        if operation["action"] != action:
            continue
        for reference in operation["messages"]:
            channel_entry = resolve(reference["$ref"])
            key = channel_entry["$ref"].rsplit("/", 1)[-1]
            found[key] = _deref(channel_entry)
    return found


# Keywords whose schemas each describe, or test, only part of the object that the schema holding
# them describes: closed, a member would refuse what its siblings describe (and a closed ``if``
# would never hold, leaving its ``then`` unchecked).
_PARTS = ("allOf", "oneOf", "anyOf", "if", "then", "else", "not", "dependentSchemas")


def _combined_refs(node: Any, found: set[str]) -> set[str]:
    """The ``$ref`` of every schema that is one of ``_PARTS``."""
    if isinstance(node, list):
        for item in node:
            _combined_refs(item, found)
    elif isinstance(node, dict):
        for keyword in _PARTS:
            members = node.get(keyword)
            for item in members if isinstance(members, list) else [members]:
                if isinstance(item, dict) and "$ref" in item:
                    found.add(item["$ref"])
        for value in node.values():
            _combined_refs(value, found)
    return found


def _closed(node: Any, combined: bool = False) -> Any:
    """``node`` with every object schema closed (``unevaluatedProperties: false``, which sees
    what the members of its ``allOf``, ``oneOf`` and ``anyOf`` evaluate), but ``_PARTS``."""
    if isinstance(node, list):
        return [_closed(item, combined) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value, combined=key in _PARTS) for key, value in node.items()}
    opens = {"additionalProperties", "unevaluatedProperties"}
    if "properties" in closed and not combined and not opens & closed.keys():
        closed["unevaluatedProperties"] = False
    return closed


@cache
def _closed_document() -> dict[str, Any]:
    document = copy.deepcopy(load_document())
    schemas = document["components"]["schemas"]
    members = _combined_refs(document, set())
    for name in list(schemas):
        schemas[name] = _closed(schemas[name], f"#/components/schemas/{name}" in members)
    for message in document["components"]["messages"].values():
        if "payload" in message:
            message["payload"] = _closed(message["payload"])
    return document


@dataclass(frozen=True)
class _Validators:
    events: dict[str, Draft202012Validator]
    stream_types: frozenset[str]
    handshake_error: Draft202012Validator
    actions: dict[str, Draft202012Validator]


def _validator(pointer: str, closed: bool) -> Draft202012Validator:
    document = _closed_document() if closed else load_document()
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
    return Draft202012Validator({"$ref": f"{DOCUMENT_URI}{pointer}"}, registry=registry)


@cache
def _validators(closed: bool = True) -> _Validators:
    events: dict[str, Draft202012Validator] = {}
    stream_types: set[str] = set()
    handshake_error = None
    for key, message in operation_messages("send").items():
        validator = _validator(f"#/components/messages/{key}/payload", closed)
        if key == HANDSHAKE_ERROR_MESSAGE:
            handshake_error = validator
            continue
        schema = _deref(message["payload"])
        event_type = schema["properties"]["type"]["const"]
        events[event_type] = validator
        if {"$ref": STREAM_POSITION_REF} in schema.get("allOf", []):
            stream_types.add(event_type)
    assert handshake_error is not None, f"no {HANDSHAKE_ERROR_MESSAGE} message in the document"
    actions = {
        message["name"].lower(): _validator(f"#/components/messages/{key}/payload", closed=False)
        for key, message in operation_messages("receive").items()
    }
    return _Validators(events, frozenset(stream_types), handshake_error, actions)


def event_types() -> frozenset[str]:
    """Every event type the document defines."""
    return frozenset(_validators().events)


def stream_event_types() -> frozenset[str]:
    """The event types that carry ``seq`` and ``epoch`` (stored and replayed)."""
    return _validators().stream_types


def validate_event(event: dict[str, Any], *, closed: bool = True) -> None:
    """Assert that a frame the server sent matches the document's schema for its ``type``,
    with no attribute the document does not name; ``closed=False``: as a client reads it, which
    may meet attributes added since (the spec's own examples, which predate the document)."""
    if not isinstance(event, dict):
        raise AssertionError(f"an event must be a JSON object, not {event!r}")
    validators = _validators(closed)
    if "type" not in event and "error" in event:
        _check(validators.handshake_error, event, "the handshake error")
        return
    event_type = event.get("type")
    if event_type not in validators.events:
        known = ", ".join(sorted(validators.events))
        raise AssertionError(f"unknown event type {event_type!r} (known: {known}) in {event!r}")
    _check(validators.events[event_type], event, f"the {event_type!r} event")


def validate_frame(frame: dict[str, Any]) -> None:
    """Assert that a client frame matches the document's schema for its ``action``."""
    if not isinstance(frame, dict):
        raise AssertionError(f"a client frame must be a JSON object, not {frame!r}")
    action = frame.get("action")
    actions = _validators().actions
    if not isinstance(action, str) or action.lower() not in actions:
        raise AssertionError(f"unknown action {action!r} (known: {', '.join(actions)})")
    _check(actions[action.lower()], frame, f"the {action!r} frame")


def _check(validator: Draft202012Validator, instance: dict[str, Any], what: str) -> None:
    errors = sorted(validator.iter_errors(instance), key=lambda e: e.json_path)
    if not errors:
        return
    lines = [f"{what} does not match docs/asyncapi.yaml:"]
    lines += [f"  at {error.json_path}: {_describe(error)}" for error in errors]
    lines.append(f"  the frame: {json.dumps(instance, ensure_ascii=False)[:1000]}")
    raise AssertionError("\n".join(lines))


def _describe(error: ValidationError) -> str:
    if error.validator == "not":
        # The default message repeats the whole instance; say which rule it broke instead.
        rule = json.dumps(error.validator_value)
        description = error.schema.get("description") if isinstance(error.schema, dict) else None
        return f"must not match {rule}" + (f" ({description})" if description else "")
    if error.context:
        # oneOf/anyOf: say why each alternative failed, by its title where it has one.
        failures: dict[int, list[str]] = {}
        for sub in error.context:
            index = int(sub.relative_schema_path[0])
            failures.setdefault(index, []).append(f"{sub.json_path}: {_describe(sub)}")
        alternatives = error.validator_value
        parts = [
            f"{_title(alternatives[index], index)}: {'; '.join(reasons)}"
            for index, reasons in sorted(failures.items())
        ]
        return f"matches no {error.validator} alternative ({' | '.join(parts)})"
    return error.message


def _title(schema: Any, index: int) -> str:
    if isinstance(schema, dict) and "title" in schema:
        return str(schema["title"])
    return f"alternative {index}"
