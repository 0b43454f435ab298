"""Every write endpoint of rest-api.md against hostile input (issue 5, Hostile and broken input).

The table is endpoint x bad input -> expected status. Every row must get exactly that status with
a ``{"error": <reason>}`` body, never a 500, and must change no row of any table (the whole
database is compared before and after), nor store a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, AnyStr
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import issue_token
from conversations.actions import do_create_conversation, do_send_message
from gleepost.api import ApiView
from gleepost.conf import gp_settings
from gleepost.middleware import max_body_bytes
from notifications.actions import do_request_contact
from notifications.models import Notification
from posts.actions import (
    MAX_NETWORK_NAME_CHARS,
    do_add_network_members,
    do_create_network,
    do_create_post,
)
from posts.serializers import MAX_USERS_PER_REQUEST

pytestmark = pytest.mark.django_db

API = "/api/v1"
PASSWORD = "correct horse battery"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


# --- The requests ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    """One request, its path and body still holding ``{placeholders}`` for the world's ids."""

    body: bytes = b""
    content_type: str = JSON
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    path: str | None = None  # instead of the endpoint's path
    anonymous: bool = False  # without the caller's X-GP-Auth header


def json_req(value: Any, **kwargs: Any) -> Req:
    return Req(json.dumps(value).encode(), JSON, **kwargs)


def raw_json(text: str) -> Req:
    return Req(text.encode(), JSON)


def form_req(pairs: list[tuple[str, Any]], **kwargs: Any) -> Req:
    return Req(urlencode(pairs).encode(), FORM, **kwargs)


def multipart_req(data: dict[str, Any]) -> Req:
    return Req(encode_multipart(BOUNDARY, data), MULTIPART_CONTENT)


def fill(text: AnyStr, ids: dict[str, int]) -> AnyStr:
    """``text`` with every ``{name}`` (or its URL-encoded form) replaced by that id; any other
    brace is left alone."""
    for name, value in ids.items():
        for placeholder in ("{" + name + "}", "%7B" + name + "%7D"):
            if isinstance(text, bytes):
                text = text.replace(placeholder.encode(), str(value).encode())
            else:
                text = text.replace(placeholder, str(value))
    return text


# --- The endpoints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "text", "password", "id", "ids", "bool"
    required: bool = True
    max_chars: int = 0
    max_count: int = 0
    example: str | None = None  # a good value of an optional parameter, with the valid body


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    valid: Any  # the body of a request that succeeds
    success: int
    params: tuple[Param, ...] = ()
    authenticated: bool = True
    path_ids: tuple[str, ...] = ()  # placeholders in ``path``

    def valid_req(self, **changes: Any) -> Req:
        """The request that succeeds, with ``changes`` (a path, a query, headers)."""
        if self.name == "videos":
            return replace(multipart_req({"video": upload(CLIP)}), **changes)
        return replace(json_req(self.valid if self.valid is not None else {}), **changes)


def upload(content: bytes, name: str = "clip.mp4") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="video/mp4")


# Not a real video: the worker never runs here.
CLIP = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100
MAX_VIDEO_MB = 1
MAX_MESSAGE = gp_settings.MAX_MESSAGE_CHARS
MAX_PARTICIPANTS = gp_settings.MAX_CONVERSATION_PARTICIPANTS

ENDPOINTS = [
    Endpoint(
        "register",
        "POST",
        "register",
        {"username": "erin", "email": "erin@example.com", "pass": "long enough pass"},
        201,
        (
            Param("username", "text", max_chars=150),
            Param("email", "text", max_chars=254),
            Param("pass", "password", max_chars=256),
        ),
        authenticated=False,
    ),
    Endpoint(
        "login",
        "POST",
        "login",
        {"email": "alice@example.com", "pass": PASSWORD},
        200,
        (Param("email", "text", max_chars=254), Param("pass", "password", max_chars=256)),
        authenticated=False,
    ),
    Endpoint("logout", "POST", "logout", None, 204),
    Endpoint(
        "conversations-create",
        "POST",
        "conversations",
        {"participants": "{dave}"},
        201,
        (
            Param("participants", "ids", max_count=MAX_PARTICIPANTS),
            Param("live", "bool", required=False, example="true"),
            Param("group", "id", required=False),
        ),
    ),
    Endpoint(
        "conversation-make-regular",
        "PUT",
        "conversations/{live}",
        {"expiry": "false"},
        200,
        (Param("expiry", "bool"),),
        path_ids=("live",),
    ),
    Endpoint(
        "conversation-delete",
        "DELETE",
        "conversations/{conversation}",
        None,
        204,
        path_ids=("conversation",),
    ),
    Endpoint(
        "participants-add",
        "POST",
        "conversations/{conversation}/participants",
        {"users": "{dave}"},
        200,
        (Param("users", "ids", max_count=MAX_PARTICIPANTS),),
        path_ids=("conversation",),
    ),
    Endpoint(
        "message-send",
        "POST",
        "conversations/{conversation}/messages",
        {"text": "hello"},
        201,
        (Param("text", "text", max_chars=MAX_MESSAGE),),
        path_ids=("conversation",),
    ),
    Endpoint(
        "messages-mark-read",
        "PUT",
        "conversations/{conversation}/messages",
        {"seen": "{message}"},
        200,
        (Param("seen", "id"),),
        path_ids=("conversation",),
    ),
    Endpoint(
        "notifications-mark-seen",
        "PUT",
        "notifications",
        {"seen": "{notification}"},
        200,
        (Param("seen", "id"),),
    ),
    Endpoint(
        "contact-request", "POST", "contacts", {"user": "{dave}"}, 201, (Param("user", "id"),)
    ),
    Endpoint(
        "contact-accept",
        "PUT",
        "contacts/{bob}",
        {"accepted": "true"},
        200,
        (Param("accepted", "bool"),),
        path_ids=("bob",),
    ),
    Endpoint(
        "network-create",
        "POST",
        "networks",
        {"name": "Chess club"},
        201,
        (Param("name", "text", max_chars=MAX_NETWORK_NAME_CHARS),),
    ),
    Endpoint(
        "network-add-users",
        "POST",
        "networks/{campus}/users",
        {"users": "{dave}"},
        200,
        (Param("users", "ids", max_count=MAX_USERS_PER_REQUEST),),
        path_ids=("campus",),
    ),
    Endpoint(
        "network-remove-user",
        "DELETE",
        "networks/{campus}/users/{carol}",
        None,
        204,
        path_ids=("campus", "carol"),
    ),
    Endpoint(
        "network-post",
        "POST",
        "networks/{campus}/posts",
        {"text": "hello"},
        201,
        (Param("text", "text", max_chars=gp_settings.MAX_POST_CHARS),),
        path_ids=("campus",),
    ),
    Endpoint("post-delete", "DELETE", "posts/{post}", None, 204, path_ids=("post",)),
    Endpoint(
        "post-views",
        "POST",
        "views/posts",
        [{"post": "{post}", "time": "2024-05-01T10:00:00Z"}],
        204,
    ),
    Endpoint(
        "comment",
        "POST",
        "posts/{post}/comments",
        {"text": "nice"},
        201,
        (Param("text", "text", max_chars=gp_settings.MAX_COMMENT_CHARS),),
        path_ids=("post",),
    ),
    Endpoint(
        "like",
        "POST",
        "posts/{post}/likes",
        {"liked": "true"},
        204,
        (Param("liked", "bool"),),
        path_ids=("post",),
    ),
    Endpoint("videos", "POST", "videos", None, 201),
]


# --- The bad input -----------------------------------------------------------------------------

# Values of the wrong type or shape for each kind of parameter, sent in a JSON body.
BAD_VALUES: dict[str, list[tuple[str, Any]]] = {
    "text": [
        ("number", 5),
        ("float", 1.5),
        ("true", True),
        ("list", ["hello"]),
        ("object", {"text": "hello"}),
        ("null", None),
        ("empty", ""),
        ("blank", "  \t "),
        ("nul", "a\x00b"),
        ("lone-surrogate", "a\ud800b"),
    ],
    "password": [
        ("number", 12345678),
        ("list", [PASSWORD]),
        ("object", {"pass": PASSWORD}),
        ("null", None),
        ("empty", ""),
        ("nul", "correct\x00horse"),
        ("lone-surrogate", "correct horse\udfff"),
    ],
    "id": [
        ("word", "abc"),
        ("empty", ""),
        ("exponent", "1e3"),
        ("hex", "0x10"),
        ("arabic-digits", "\u0661\u0662"),
        ("negative", -1),
        ("negative-text", "-1"),
        ("zero", 0),
        ("huge", 10**30),
        ("huge-text", str(10**30)),
        ("float", 1.5),
        ("true", True),
        ("list", [1]),
        ("object", {"id": 1}),
        ("null", None),
        ("two", "1,2"),
    ],
    "ids": [
        ("empty", ""),
        ("empty-item", "1,,2"),
        ("word", "1,abc"),
        ("negative", "-1"),
        ("zero", "0"),
        ("huge", str(10**30)),
        ("huge-number", [10**30]),
        ("nested", [[1]]),
        ("object", {"id": 1}),
        ("number", 5),
        ("true", True),
        ("null", None),
        ("very-long", "9" * 5000),
    ],
    "bool": [
        ("word", "yes"),
        ("one", 1),
        ("zero", 0),
        ("list", [True]),
        ("object", {"value": True}),
        ("null", None),
        ("empty", ""),
    ],
}

# "Absent" for an optional parameter: not bad input.
ABSENT = {"null", "empty"}
ABSENT_BOOL = {"null"}


@dataclass(frozen=True)
class Row:
    endpoint: Endpoint
    attack: str
    req: Req | Callable[[], Req]  # a callable: built when the test runs, under its settings
    status: int

    @property
    def id(self) -> str:
        return f"{self.endpoint.name}:{self.attack}"


def param_rows(endpoint: Endpoint) -> Iterator[Row]:
    """Each parameter missing, of each wrong type, too long, given twice."""
    valid = dict(endpoint.valid or {})
    for param in endpoint.params:
        if param.required:
            rest = {key: value for key, value in valid.items() if key != param.name}
            yield Row(endpoint, f"{param.name}-missing", json_req(rest), 400)
        for label, value in BAD_VALUES[param.kind]:
            absent = ABSENT_BOOL if param.kind == "bool" else ABSENT
            if not param.required and label in absent:
                continue
            body = {**valid, param.name: value}
            yield Row(endpoint, f"{param.name}-{label}", json_req(body), 400)
        if param.max_chars:
            too_long = {**valid, param.name: "x" * (param.max_chars + 1)}
            yield Row(endpoint, f"{param.name}-too-long", json_req(too_long), 400)
        if param.max_count:
            ids = ",".join(str(n) for n in range(1, param.max_count + 2))
            too_many = {**valid, param.name: ids}
            yield Row(endpoint, f"{param.name}-too-many", json_req(too_many), 400)
        given = valid.get(param.name, param.example)
        if given is None:
            continue
        others = [(key, value) for key, value in valid.items() if key != param.name]
        twice = form_req([*others, (param.name, given), (param.name, given)])
        yield Row(endpoint, f"{param.name}-twice-in-form", twice, 400)
        in_query = urlencode({param.name: given})
        both = form_req([*others, (param.name, given)], query=in_query)
        yield Row(endpoint, f"{param.name}-in-body-and-query", both, 400)


def body_rows(endpoint: Endpoint) -> Iterator[Row]:
    """Bodies that cannot be read, or are not what they say they are."""
    first = endpoint.params[0].name if endpoint.params else "anything"
    yield Row(endpoint, "malformed-json", raw_json('{"' + first + '": '), 400)
    yield Row(endpoint, "json-list", raw_json("[1, 2]"), 400)
    yield Row(endpoint, "json-string", raw_json('"hello"'), 400)
    yield Row(endpoint, "json-number", raw_json("42"), 400)
    yield Row(endpoint, "json-null", raw_json("null"), 400)
    yield Row(endpoint, "json-nested-deep", raw_json("[" * 100_000 + "]" * 100_000), 400)
    yield Row(endpoint, "json-nan", raw_json('{"' + first + '": NaN}'), 400)
    yield Row(endpoint, "json-duplicate-key", raw_json(f'{{"{first}": "1", "{first}": "2"}}'), 400)
    surrogate = '{"note": "\\ud83d"}'
    yield Row(endpoint, "json-lone-surrogate-anywhere", raw_json(surrogate), 400)
    yield Row(endpoint, "json-huge-integer", raw_json('{"' + first + '": ' + "9" * 5000 + "}"), 400)
    yield Row(endpoint, "form-invalid-utf8", Req(first.encode() + b"=\xff\xfe\xfd", FORM), 400)
    yield Row(endpoint, "form-invalid-utf8-escaped", Req(f"{first}=%ff%fe".encode(), FORM), 400)
    yield Row(endpoint, "form-overlong-utf8", Req(f"{first}=%c0%af".encode(), FORM), 400)
    yield Row(endpoint, "form-surrogate-utf8", Req(f"{first}=%ed%a0%80".encode(), FORM), 400)
    fields = "&".join(f"f{n}=1" for n in range(1001))
    yield Row(endpoint, "form-too-many-fields", Req(fields.encode(), FORM), 400)
    multipart = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{first}"\r\n\r\n'.encode()
        + b"\xff\xfe\r\n"
        + f"--{BOUNDARY}--\r\n".encode()
    )
    yield Row(endpoint, "multipart-invalid-utf8", Req(multipart, MULTIPART_CONTENT), 400)
    no_boundary = Req(b"--x\r\n", "multipart/form-data")
    yield Row(endpoint, "multipart-without-boundary", no_boundary, 400)
    yield Row(endpoint, "text-plain", Req(f"{first}=1".encode(), "text/plain"), 400)
    yield Row(endpoint, "xml", Req(b"<a>1</a>", "application/xml"), 400)
    yield Row(endpoint, "no-content-type", Req(f"{first}=1".encode(), ""), 400)
    yield Row(endpoint, "bz2-charset", Req(b"{}", "application/json; charset=bz2_codec"), 400)
    yield Row(endpoint, "query-invalid-utf8", endpoint.valid_req(query="x=%ff"), 400)
    yield Row(endpoint, "body-over-size-limit", lambda: oversized_json(endpoint), 413)
    yield Row(
        endpoint,
        "malformed-content-length",
        Req(b"{}", JSON, headers={"CONTENT_LENGTH": "12abc"}),
        400,
    )
    if endpoint.authenticated:
        bad_header = endpoint.valid_req(headers={"HTTP_X_GP_AUTH": "9-"})
        yield Row(endpoint, "malformed-credentials-header", bad_header, 401)
        if not isinstance(endpoint.valid, list):
            in_body = {**(endpoint.valid or {}), "id": [1], "token": {"a": 1}}
            bad_body = replace(json_req(in_body), anonymous=True)
            yield Row(endpoint, "credentials-of-wrong-type-in-body", bad_body, 401)


def oversized_json(endpoint: Endpoint) -> Req:
    """A JSON body one byte over what the endpoint's path accepts."""
    limit = max_body_bytes(f"{API}/{endpoint.path}")
    body = {"padding": ""}
    return json_req({"padding": "x" * (limit + 1 - len(json.dumps(body)))})


def path_rows(endpoint: Endpoint) -> Iterator[Row]:
    """Each id in the path replaced by one that is not one, or names nothing."""
    for placeholder in endpoint.path_ids:
        for label, value in [
            ("zero", "0"),
            ("huge", str(10**30)),
            ("largest-routed", "9" * 15),
            ("negative", "-1"),
            ("word", "abc"),
            ("float", "1.5"),
        ]:
            path = endpoint.path.replace("{" + placeholder + "}", value)
            yield Row(endpoint, f"path-{placeholder}-{label}", endpoint.valid_req(path=path), 404)


def views_rows(endpoint: Endpoint) -> Iterator[Row]:
    """``views/posts`` takes a JSON list of ``{"post", "time"}``."""
    post = "{post}"
    for label, body in [
        ("object", {"post": post}),
        ("too-many", [{"post": post}] * (gp_settings.MAX_VIEWS_PER_REQUEST + 1)),
        ("item-number", [1]),
        ("item-list", [[post]]),
        ("post-missing", [{"time": "2024-05-01T10:00:00Z"}]),
        ("post-null", [{"post": None}]),
        ("post-word", [{"post": "abc"}]),
        ("post-negative", [{"post": -1}]),
        ("post-zero", [{"post": 0}]),
        ("post-huge", [{"post": 10**30}]),
        ("post-float", [{"post": 1.5}]),
        ("post-true", [{"post": True}]),
        ("post-list", [{"post": [1]}]),
        ("time-word", [{"post": post, "time": "yesterday"}]),
        ("time-number", [{"post": post, "time": 1714557600}]),
        ("time-without-zone", [{"post": post, "time": "2024-05-01T10:00:00"}]),
        ("time-before-year-1-in-utc", [{"post": post, "time": "0001-01-01T00:00:00+01:00"}]),
        ("time-after-9999-in-utc", [{"post": post, "time": "9999-12-31T23:59:59-01:00"}]),
        ("time-too-long", [{"post": post, "time": "2024-05-01T10:00:00" + "0" * 1000 + "Z"}]),
        ("time-lone-surrogate", [{"post": post, "time": "2024-05-01T10:00:00Z\udc00"}]),
        ("good-then-bad", [{"post": post}, {"post": "abc"}]),
    ]:
        yield Row(endpoint, label, json_req(body), 400)
    duplicate = '[{"post": "{post}", "post": "{post}"}]'
    yield Row(endpoint, "item-duplicate-key", raw_json(duplicate), 400)
    yield Row(endpoint, "form", form_req([("post", post)]), 400)


def video_rows(endpoint: Endpoint) -> Iterator[Row]:
    """``videos`` takes one multipart file ``video``."""
    yield Row(endpoint, "no-file", multipart_req({"title": "x"}), 400)
    yield Row(endpoint, "video-as-text-field", multipart_req({"video": "abc"}), 400)
    yield Row(endpoint, "video-in-json", json_req({"video": "abc"}), 400)
    yield Row(endpoint, "video-in-form", form_req([("video", "abc")]), 400)
    yield Row(endpoint, "empty-file", multipart_req({"video": upload(b"")}), 400)
    two = multipart_req({"video": [upload(CLIP), upload(CLIP)]})
    yield Row(endpoint, "two-files", two, 400)
    yield Row(endpoint, "body-over-size-limit-with-file", oversized_video_body, 413)
    # Under the body limit (which leaves room for the multipart framing), over the file's.
    yield Row(endpoint, "file-just-over-size-limit", oversized_video_file, 413)


def oversized_video_body() -> Req:
    return multipart_req({"video": upload(b"\x00" * max_body_bytes(f"{API}/videos"))})


def oversized_video_file() -> Req:
    return multipart_req({"video": upload(b"\x00" * (MAX_VIDEO_MB * 1024 * 1024 + 1))})


def all_rows() -> list[Row]:
    rows: list[Row] = []
    for endpoint in ENDPOINTS:
        rows.extend(param_rows(endpoint))
        rows.extend(body_rows(endpoint))
        rows.extend(path_rows(endpoint))
        if endpoint.name == "post-views":
            rows.extend(views_rows(endpoint))
        if endpoint.name == "videos":
            rows.extend(video_rows(endpoint))
    return rows


ROWS = all_rows()


# --- Running them ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def small_uploads(settings: Any, tmp_path: Path) -> Path:
    """A 1 MB video limit (so that a body over it is cheap) and a private MEDIA_ROOT."""
    settings.GLEEPOST = {**getattr(settings, "GLEEPOST", {}), "MAX_VIDEO_MB": MAX_VIDEO_MB}
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@dataclass(frozen=True)
class World:
    ids: dict[str, int]  # what the ``{placeholders}`` stand for
    auth_header: str  # alice's: she is the caller


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once for the module's hundreds of rows, inside a transaction that each test's own
    (a savepoint) rolls back to, and that is rolled back at the end.

    alice is the caller. Campus (hers) has bob and carol; a regular conversation with bob holds
    a message from him; a live one is with carol; bob asked alice to be a contact; dave shares
    nothing with anyone.
    """
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        alice, bob, carol, dave = (
            User.objects.create_user(name, f"{name}@example.com", PASSWORD)
            for name in ("alice", "bob", "carol", "dave")
        )
        _, token = issue_token(alice)
        campus = do_create_network(alice, "Campus")
        do_add_network_members(campus, alice, [bob.pk, carol.pk])
        post = do_create_post(campus, alice, "Hello campus")
        conversation, _ = do_create_conversation(alice, [bob.pk])
        message = do_send_message(conversation, bob, "hi alice")
        live, _ = do_create_conversation(alice, [carol.pk], live=True)
        do_request_contact(bob, alice.pk)
        notification = Notification.objects.filter(recipient=alice).latest("pk")
        ids = {
            "bob": bob.pk,
            "carol": carol.pk,
            "dave": dave.pk,
            "campus": campus.pk,
            "post": post.pk,
            "conversation": conversation.pk,
            "message": message.pk,
            "live": live.pk,
            "notification": notification.pk,
        }
        yield World(ids, f"{alice.pk}-{token}")
        transaction.set_rollback(True)


def send(endpoint: Endpoint, req: Req, world: World) -> Any:
    path = fill(req.path if req.path is not None else endpoint.path, world.ids)
    query = fill(req.query, world.ids)
    headers: dict[str, str] = {}
    if endpoint.authenticated and not req.anonymous:
        headers["HTTP_X_GP_AUTH"] = world.auth_header
    headers.update(req.headers)
    body = req.body if req.content_type == MULTIPART_CONTENT else fill(req.body, world.ids)
    return APIClient().generic(
        endpoint.method,
        f"{API}/{path}" + (f"?{query}" if query else ""),
        data=body,
        content_type=req.content_type,
        **headers,
    )


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models()
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_the_valid_request_of_each_endpoint_succeeds(endpoint: Endpoint, world: World) -> None:
    # The baseline every row departs from: without the bad part, the request works.
    response = send(endpoint, endpoint.valid_req(), world)
    assert response.status_code == endpoint.success, response.content


FORM_ENDPOINTS = [e for e in ENDPOINTS if isinstance(e.valid, dict)]


@pytest.mark.parametrize("endpoint", FORM_ENDPOINTS, ids=[e.name for e in FORM_ENDPOINTS])
def test_the_valid_request_form_encoded_succeeds_too(endpoint: Endpoint, world: World) -> None:
    # The baseline of the rows that send a parameter twice in a form.
    response = send(endpoint, form_req(list(endpoint.valid.items())), world)
    assert response.status_code == endpoint.success, response.content


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_hostile_input_gets_its_status_and_writes_nothing(
    row: Row, world: World, small_uploads: Path
) -> None:
    req = row.req() if callable(row.req) else row.req
    before = snapshot()
    response = send(row.endpoint, req, world)
    assert response.status_code == row.status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"]
    assert isinstance(body["error"], str) and body["error"]
    assert snapshot() == before
    assert not any(small_uploads.rglob("*.*"))


def test_the_accept_header_is_ignored(world: World) -> None:
    # The API speaks JSON only; the spec has no 406.
    message_send = next(e for e in ENDPOINTS if e.name == "message-send")
    for body, status in ((b'{"text": "hi"}', 201), (b'{"text": 5}', 400)):
        req = Req(body, JSON, headers={"HTTP_ACCEPT": "application/xml"})
        response = send(message_send, req, world)
        assert response.status_code == status
        assert response["Content-Type"] == "application/json"


def api_views(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, type]]:
    """(route, view class) of every class-based view, the route with ``{id}`` for each id."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").removesuffix("$").removesuffix("/?")
        if isinstance(pattern, URLResolver):
            yield from api_views(pattern.url_patterns, route)
        elif hasattr(pattern.callback, "view_class"):
            yield re.sub(r"\(\?P<\w+>[^)]*\)", "{id}", route), pattern.callback.view_class


def test_the_table_covers_every_write_endpoint() -> None:
    routes = [(route, view) for route, view in api_views(get_resolver().url_patterns)]
    writes = {
        (method.upper(), route.removeprefix("api/v1/"))
        for route, view in routes
        if route.startswith("api/v1/")
        for method in ("post", "put", "patch", "delete")
        if hasattr(view, method)
    }
    covered = {(e.method, re.sub(r"\{\w+\}", "{id}", e.path)) for e in ENDPOINTS}
    assert writes == covered
    assert len(writes) == 21


def test_every_api_view_reads_requests_the_strict_way() -> None:
    views = [view for route, view in api_views(get_resolver().url_patterns) if "api/v1/" in route]
    assert len(views) >= 20
    # The API's documents (OpenAPI, its Swagger UI page) only answer GET and read no body; the
    # UI is an HTML page, which the API's JSON-only negotiation would refuse.
    documents = {SpectacularAPIView, SpectacularSwaggerView}
    assert [view for view in views if not issubclass(view, ApiView) and view not in documents] == []
    writes = ("post", "put", "patch", "delete")
    assert [view for view in documents if any(hasattr(view, m) for m in writes)] == []
