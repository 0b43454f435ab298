"""``docs/openapi.yaml``: generated from the views, complete against ``rest-api.md``, and true of
what the API answers.

- The committed document is what ``manage.py spectacular`` generates now, without warnings.
- Every endpoint of the binding spec is in it; every operation in it is routed to a view that
  handles its method, and every API view method is in it.
- Real requests through the DRF test client answer with a status the document lists for the
  operation and a body its schema accepts. The schemas are checked closed (no undocumented
  attribute) and with the API's time format, so a response that gained, lost or changed a field
  without the document fails here.
- The documents are served without credentials.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts.actions import do_set_presence
from conversations import actions as conversation_actions
from gleepost.api import ApiView
from posts import actions as post_actions
from tests.conftest import Member
from videos import actions as video_actions
from videos.models import Video

DOCS = Path(__file__).resolve().parents[2] / "docs"
OPENAPI_PATH = DOCS / "openapi.yaml"
ASYNCAPI_PATH = DOCS / "asyncapi.yaml"
SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "spec" / "rest-api.md"
REGENERATE = "python manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn"
DOCUMENT_URI = "urn:gleepost:openapi"
METHODS = ("get", "post", "put", "patch", "delete")
# rest-api.md, Conventions: RFC 3339 in UTC with a Z suffix (the server writes microseconds).
API_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"


@cache
def load_document() -> dict[str, Any]:
    with OPENAPI_PATH.open(encoding="utf-8") as file:
        document: dict[str, Any] = yaml.safe_load(file)
    return document


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in load_document()["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _template(path: str) -> str:
    """``/api/v1/contacts/{user id}`` and ``.../{user_id}`` alike: ``/api/v1/contacts/{}``."""
    return re.sub(r"{[^}]*}", "{}", path.rstrip("/"))


# ---- The committed document is the generated one ----


def test_committed_document_is_what_the_views_generate(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"
    # --fail-on-warn: a view the generator cannot describe fails here, not only in review.
    call_command("spectacular", "--file", str(generated), "--validate", "--fail-on-warn")
    committed = OPENAPI_PATH.read_text(encoding="utf-8")
    fresh = generated.read_text(encoding="utf-8")
    if fresh != committed:
        diff = difflib.unified_diff(
            committed.splitlines(), fresh.splitlines(), "committed", "generated", lineterm=""
        )
        shown = "\n".join(list(diff)[:80])
        pytest.fail(f"docs/openapi.yaml is stale; regenerate it with\n  {REGENERATE}\n{shown}")


def test_document_describes_the_api_and_its_credentials() -> None:
    document = load_document()
    assert document["openapi"].startswith("3.")
    schemes = document["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", "X-GP-Auth"),
        ("apiKey", "query", "id"),
        ("apiKey", "query", "token"),
        ("apiKey", "cookie", "sessionid"),
    }
    login = document["paths"]["/api/v1/login"]["post"]
    assert login["security"] == [{}], "login needs no credentials"
    conversations = document["paths"]["/api/v1/conversations"]["get"]
    # The header alone, or id and token together, or the session.
    assert conversations["security"] == [
        {"gpAuthHeader": []},
        {"gpId": [], "gpToken": []},
        {"cookieAuth": []},
    ]
    assert document["components"]["schemas"]["Error"]["required"] == ["error"]


def test_every_error_response_has_the_error_shape() -> None:
    seen = set()
    for path, method, operation in operations():
        for code, response in operation["responses"].items():
            if int(code) < 400 or (path == "/readyz" and code == "503"):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, f"{method} {path} {code}"
            seen.add(code)
    assert seen == {"400", "401", "403", "404", "413", "429"}


# ---- The document against the spec and the URLconf ----


def _spec_endpoints() -> set[tuple[str, str]]:
    if not SPEC_PATH.exists():
        return set()
    text = SPEC_PATH.read_text(encoding="utf-8")
    rows = re.findall(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s+`([^`]+)`", text, flags=re.M)
    return {(method.lower(), _template(f"/api/v1/{path}")) for method, path in rows}


SPEC_ENDPOINTS = _spec_endpoints()
needs_spec = pytest.mark.skipif(not SPEC_ENDPOINTS, reason=f"{SPEC_PATH} is not beside the repo")


@needs_spec
def test_every_endpoint_of_the_spec_is_documented() -> None:
    # The spec's tables: 4 accounts, 9 conversations, 6 notifications, 8 networks/posts, 2 videos.
    assert len(SPEC_ENDPOINTS) >= 29, sorted(SPEC_ENDPOINTS)
    documented = {(method, _template(path)) for path, method, _ in operations()}
    missing = sorted(SPEC_ENDPOINTS - documented)
    assert not missing, f"in rest-api.md but not in docs/openapi.yaml: {missing}"


@needs_spec
def test_every_status_the_spec_gives_an_endpoint_is_documented_for_it() -> None:
    statuses = _spec_statuses()
    assert statuses[("post", "/api/v1/conversations")] == {"200", "201"}
    assert statuses[("post", "/api/v1/conversations/{}/messages")] == {"201", "403"}
    documented = {
        (method, _template(path)): set(operation["responses"])
        for path, method, operation in operations()
    }
    for endpoint, codes in statuses.items():
        missing = codes - documented[endpoint]
        assert not missing, f"{endpoint}: rest-api.md gives {sorted(missing)}, not documented"


def _spec_statuses() -> dict[tuple[str, str], set[str]]:
    """Each endpoint's statuses in the spec's result column (e.g. "201 conversation; ... (200)")."""
    statuses = {}
    for line in SPEC_PATH.read_text(encoding="utf-8").splitlines():
        row = re.match(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s+`([^`]+)`", line)
        if row:
            result = line.rstrip().rstrip("|").rsplit("|", 1)[-1]
            endpoint = (row[1].lower(), _template(f"/api/v1/{row[2]}"))
            # A row that names no status (the GETs) means 200.
            statuses[endpoint] = set(re.findall(r"\b([245]\d\d)\b", result)) or {"200"}
    return statuses


def test_every_documented_operation_is_routed_to_a_view_handling_it() -> None:
    count = 0
    for path, method, operation in operations():
        names = re.findall(r"{(\w+)}", path)
        concrete = re.sub(r"{\w+}", "7", path)
        match = resolve(concrete)
        view = getattr(match.func, "cls", None)
        assert view is not None and issubclass(view, ApiView), f"{path} is not an API view"
        assert hasattr(view, method), f"{view.__name__} does not handle {method} {path}"
        assert sorted(match.kwargs) == sorted(names), f"{path}: the URL names {match.kwargs}"
        declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        assert sorted(declared) == sorted(names), f"{method} {path}"
        count += 1
    assert count >= 31


def _api_routes(patterns: list[URLPattern | URLResolver]) -> Iterator[URLPattern]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _api_routes(pattern.url_patterns)
        # ``schema = None`` leaves a view out on purpose (not JSON, not the API).
        elif issubclass(view := getattr(pattern.callback, "cls", object), ApiView) and (
            view.schema is not None
        ):
            yield pattern


def test_every_api_view_method_in_the_urlconf_is_documented() -> None:
    documented = [(re.sub(r"{\w+}", "[0-9]+", p), m) for p, m, _ in operations()]
    routes = list(_api_routes(get_resolver().url_patterns))
    assert len(routes) >= 21
    for pattern in routes:
        assert pattern.name is not None
        variables = dict.fromkeys(pattern.pattern.regex.groupindex, 7)
        url = reverse(pattern.name, kwargs=variables).rstrip("/")
        view = pattern.callback.cls  # type: ignore[attr-defined]
        for method in METHODS:
            if hasattr(view, method):
                assert any(re.fullmatch(p, url) and m == method for p, m in documented), (
                    f"{method.upper()} {url} ({view.__name__}) is not in docs/openapi.yaml"
                )


# ---- What the API answers matches the document ----


def _closed(node: Any) -> Any:
    """The document's schemas with every object closed to undocumented attributes and every
    time held to the API's format: stricter than what clients may assume (resources may gain
    attributes), so that the document cannot fall behind the code."""
    if isinstance(node, list):
        return [_closed(item) for item in node]
    if not isinstance(node, dict):
        return node
    closed = {key: _closed(value) for key, value in node.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    if closed.get("format") == "date-time":
        closed["pattern"] = API_TIME
    if closed.pop("nullable", False):
        # OpenAPI 3.0's flag, which JSON Schema 2020-12 does not know: null is one more choice.
        return {"anyOf": [closed, {"type": "null"}]}
    return closed


@cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(
        _closed(copy.deepcopy(load_document())), default_specification=DRAFT202012
    )
    return Registry().with_resource(DOCUMENT_URI, resource)


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def check_response(response: Response, method: str, path: str) -> Any:
    """Assert that ``response`` to ``method path`` (a path of the document) is as documented;
    returns its body."""
    operation = load_document()["paths"][path][method.lower()]
    code = str(response.status_code)
    body = response.content
    assert code in operation["responses"], (
        f"{method} {path} answered {code} {body[:300]!r}; "
        f"documented: {sorted(operation['responses'])}"
    )
    documented = operation["responses"][code]
    for header in documented.get("headers", {}):
        assert response.has_header(header), f"{method} {path} {code} lacks {header}"
    if "content" not in documented:
        assert body == b"", f"{method} {path} {code} is documented without a body"
        return None
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(body)
    pointer = _pointer(
        "paths", path, method.lower(), "responses", code, "content", "application/json", "schema"
    )
    validator = Draft202012Validator({"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=_registry())
    errors = [f"at {e.json_path}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, f"{method} {path} {code} does not match the document:\n" + "\n".join(
        [*errors, json.dumps(data)[:1000]]
    )
    return data


def test_the_check_rejects_an_undocumented_missing_or_wrong_field() -> None:
    """The closed schemas do catch a response that drifted from the document."""

    class Fake:
        status_code = 200

        def __init__(self, data: Any) -> None:
            self.content = json.dumps(data).encode()

        def has_header(self, name: str) -> bool:
            return False

        def __getitem__(self, name: str) -> str:
            return "application/json"

    user = {"id": 1, "username": "alice", "profile_image": ""}
    good = {"id": 1, "name": "Campus"}
    path = "/api/v1/posts/{post_id}"
    post = {"id": 1, "by": user, "text": "x", "timestamp": "2013-12-12T15:20:54.665361Z"}
    post |= {"network": 1, "views": 0}
    check_response(Fake(post), "GET", path)  # type: ignore[arg-type]
    for wrong, complaint in [
        ({**post, "secret": 1}, "Additional properties"),
        ({k: v for k, v in post.items() if k != "views"}, "'views' is a required"),
        ({**post, "timestamp": "2013-12-12T15:20:54+00:00"}, "does not match"),
        ({**post, "by": {**user, "email": "a@b"}}, "Additional properties"),
    ]:
        with pytest.raises(AssertionError, match=re.escape(complaint)):
            check_response(Fake(wrong), "GET", path)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="answered 200"):
        check_response(Fake(good), "DELETE", path)  # type: ignore[arg-type]


V1 = "/api/v1"


def test_a_user_without_an_image_is_documented_with_an_empty_profile_image() -> None:
    image = load_document()["components"]["schemas"]["User"]["properties"]["profile_image"]
    assert image["anyOf"] == [
        {"type": "string", "format": "uri"},
        {"type": "string", "enum": [""]},
    ]


def test_one_serializer_makes_the_request_and_the_answer_of_a_message() -> None:
    schemas = load_document()["components"]["schemas"]
    # The request takes only what the sender writes; the answer has every field, ``group``
    # (left out outside a group conversation) not required.
    assert list(schemas["MessageRequest"]["properties"]) == ["text"]
    assert schemas["MessageRequest"]["required"] == ["text"]
    assert schemas["MessageRequest"]["properties"]["text"]["maxLength"] == 5000
    assert list(schemas["Message"]["properties"]) == [
        "id",
        "by",
        "text",
        "timestamp",
        "seen",
        "group",
    ]
    assert schemas["Message"]["required"] == ["by", "id", "seen", "text", "timestamp"]
    assert not any(key.startswith("x-") for schema in schemas.values() for key in schema)


@pytest.mark.django_db
def test_the_documented_bounds_of_each_query_parameter_are_the_servers(
    alice: Member, bob: Member
) -> None:
    network = post_actions.do_create_network(alice.user, "Campus")
    conversation, _ = conversation_actions.do_create_conversation(alice.user, [bob.id])
    ids = {"{conversation_id}": conversation.pk, "{network_id}": network.pk}
    checked = []
    for path, method, operation in operations():
        url = path
        for variable, value in ids.items():
            url = url.replace(variable, str(value))
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if method != "get" or parameter["in"] != "query" or "minimum" not in schema:
                continue
            low, high = schema["minimum"], schema["maximum"]
            for value, accepted in ((low, True), (high, True), (low - 1, False), (high + 1, False)):
                response = alice.client.get(url, {parameter["name"]: value})
                assert (response.status_code == 200) is accepted, (
                    f"{path}?{parameter['name']}={value}: {response.status_code} "
                    f"{response.content[:200]!r}"
                )
            checked.append((path, parameter["name"]))
    # start, after, before, count of the conversations, posts and notifications lists.
    assert len(checked) == 9, checked


@pytest.mark.django_db
def test_accounts_answer_as_documented(anon: APIClient, alice: Member, bob: Member) -> None:
    details = {"username": "erin", "email": "erin@example.com", "pass": "long enough"}
    check_response(anon.post(f"{V1}/register", details), "POST", f"{V1}/register")
    taken = check_response(anon.post(f"{V1}/register", details), "POST", f"{V1}/register")
    assert taken == {"error": "username: already taken"}

    login = {"email": "erin@example.com", "pass": "long enough"}
    token = check_response(anon.post(f"{V1}/login", login), "POST", f"{V1}/login")
    assert set(token) == {"id", "value", "expiry"}
    wrong = anon.post(f"{V1}/login", {**login, "pass": "wrong password"})
    assert check_response(wrong, "POST", f"{V1}/login") == {"error": "Bad email/password"}

    # Presence shows to those who share an open conversation: the optional attribute, present.
    conversation_actions.do_create_conversation(alice.user, [bob.id])
    do_set_presence(bob.user, "mobile")
    user = check_response(alice.client.get(f"{V1}/user/{bob.id}"), "GET", f"{V1}/user/{{user_id}}")
    assert user["presence"]["form"] == "mobile"
    missing = alice.client.get(f"{V1}/user/999999")
    assert check_response(missing, "GET", f"{V1}/user/{{user_id}}") == {"error": "Not found"}

    unauthenticated = check_response(anon.get(f"{V1}/conversations"), "GET", f"{V1}/conversations")
    assert unauthenticated == {"error": "Invalid credentials"}
    assert check_response(alice.client.post(f"{V1}/logout"), "POST", f"{V1}/logout") is None


@pytest.mark.django_db
def test_rate_limited_login_answers_as_documented(
    anon: APIClient, alice: Member, settings: Any
) -> None:
    settings.GLEEPOST = {**getattr(settings, "GLEEPOST", {}), "LOGIN_ATTEMPTS_PER_IP": 1}
    login = {"email": "alice@example.com", "pass": "correct horse battery"}
    check_response(anon.post(f"{V1}/login", login), "POST", f"{V1}/login")
    limited = anon.post(f"{V1}/login", login)
    assert limited.status_code == 429
    check_response(limited, "POST", f"{V1}/login")


@pytest.mark.django_db
def test_conversations_answer_as_documented(
    alice: Member, bob: Member, carol: Member, dave: Member
) -> None:
    one = f"{V1}/conversations/{{conversation_id}}"
    messages = f"{one}/messages"
    live = check_response(
        alice.client.post(f"{V1}/conversations", {"participants": str(bob.id), "live": "true"}),
        "POST",
        f"{V1}/conversations",
    )
    assert "expiry" in live
    regular = check_response(
        alice.client.post(f"{V1}/conversations", {"participants": str(bob.id)}),
        "POST",
        f"{V1}/conversations",
    )
    again = alice.client.post(f"{V1}/conversations", {"participants": str(bob.id)})
    assert again.status_code == 200
    check_response(again, "POST", f"{V1}/conversations")

    network = post_actions.do_create_network(alice.user, "Campus")
    post_actions.do_add_network_members(network, alice.user, [bob.id])
    group = check_response(
        alice.client.post(
            f"{V1}/conversations", {"participants": str(bob.id), "group": network.pk}
        ),
        "POST",
        f"{V1}/conversations",
    )
    assert group["group"] == network.pk
    in_group = alice.client.post(f"{V1}/conversations/{group['id']}/messages", {"text": "hi all"})
    assert check_response(in_group, "POST", messages)["group"] == network.pk

    listed = check_response(alice.client.get(f"{V1}/conversations"), "GET", f"{V1}/conversations")
    assert {c["id"] for c in listed} == {live["id"], regular["id"], group["id"]}

    url = f"{V1}/conversations/{regular['id']}"
    sent = check_response(alice.client.post(f"{url}/messages", {"text": "hello"}), "POST", messages)
    page = check_response(alice.client.get(f"{url}/messages", {"count": 5}), "GET", messages)
    assert [m["id"] for m in page] == [sent["id"]]
    read = check_response(bob.client.put(f"{url}/messages", {"seen": sent["id"]}), "PUT", messages)
    assert read["read"] == [{"user": bob.id, "last_read": sent["id"]}]
    detail = check_response(alice.client.get(url), "GET", one)
    assert detail["messages"][0]["seen"] is True
    added = alice.client.post(f"{url}/participants", {"users": str(carol.id)})
    assert {u["id"] for u in check_response(added, "POST", f"{one}/participants")} == {
        alice.id,
        bob.id,
        carol.id,
    }

    not_live = check_response(alice.client.put(url, {"expiry": "false"}), "PUT", one)
    assert not_live == {"error": "Conversation is not live"}
    made_regular = alice.client.put(f"{V1}/conversations/{live['id']}", {"expiry": "false"})
    assert "expiry" not in check_response(made_regular, "PUT", one)
    hidden = check_response(dave.client.get(url), "GET", one)
    assert hidden == {"error": "Not found"}

    ended = check_response(
        alice.client.post(f"{V1}/conversations", {"participants": str(bob.id), "live": "true"}),
        "POST",
        f"{V1}/conversations",
    )
    ended_url = f"{V1}/conversations/{ended['id']}"
    assert check_response(alice.client.delete(ended_url), "DELETE", one) is None
    refused = alice.client.post(f"{ended_url}/messages", {"text": "too late"})
    assert check_response(refused, "POST", messages) == {"error": "Conversation has ended"}

    oversized = alice.client.post(
        f"{url}/messages",
        json.dumps({"text": "x" * (3 * 1024 * 1024)}),
        content_type="application/json",
    )
    assert oversized.status_code == 413
    check_response(oversized, "POST", messages)
    malformed = alice.client.post(f"{url}/messages", "{", content_type="application/json")
    assert malformed.status_code == 400
    check_response(malformed, "POST", messages)


@pytest.mark.django_db
def test_notifications_and_contacts_answer_as_documented(
    alice: Member, bob: Member, carol: Member, dave: Member
) -> None:
    contacts = f"{V1}/contacts"
    asked = check_response(carol.client.post(contacts, {"user": alice.id}), "POST", contacts)
    assert asked == {"user": _user(alice), "accepted": False}
    accepted = alice.client.put(f"{contacts}/{carol.id}", {"accepted": "true"})
    assert check_response(accepted, "PUT", f"{contacts}/{{user_id}}")["accepted"] is True
    nobody = check_response(carol.client.post(contacts, {"user": 999999}), "POST", contacts)
    assert nobody == {"error": "User not found"}
    unasked = alice.client.put(f"{contacts}/{dave.id}", {"accepted": "true"})
    check_response(unasked, "PUT", f"{contacts}/{{user_id}}")
    assert unasked.status_code == 404

    network = post_actions.do_create_network(alice.user, "Campus")
    post_actions.do_add_network_members(network, alice.user, [bob.id])
    post = post_actions.do_create_post(network, alice.user, "hello")
    post_actions.do_comment(post, bob.user, "nice")

    notifications = f"{V1}/notifications"
    listed = check_response(alice.client.get(notifications), "GET", notifications)
    assert {n["type"] for n in listed} == {"added_you", "commented"}
    assert [n["post"] for n in listed if n["type"] == "commented"] == [post.pk]
    newest = max(n["id"] for n in listed)
    unseen = alice.client.put(notifications, {"seen": newest})
    assert check_response(unseen, "PUT", notifications) == []
    seen = alice.client.get(notifications, {"include_seen": "true"})
    assert all(n["seen"] for n in check_response(seen, "GET", notifications))


@pytest.mark.django_db
def test_networks_and_posts_answer_as_documented(alice: Member, bob: Member) -> None:
    network = check_response(
        alice.client.post(f"{V1}/networks", {"name": "Campus"}), "POST", f"{V1}/networks"
    )
    base = f"{V1}/networks/{network['id']}"
    users = f"{V1}/networks/{{network_id}}/users"
    members = alice.client.post(f"{base}/users", {"users": str(bob.id)})
    assert [u["id"] for u in check_response(members, "POST", users)["users"]] == [alice.id, bob.id]
    posts = f"{V1}/networks/{{network_id}}/posts"
    made = check_response(alice.client.post(f"{base}/posts", {"text": "hello"}), "POST", posts)
    assert [p["id"] for p in check_response(alice.client.get(f"{base}/posts"), "GET", posts)] == [
        made["id"]
    ]

    one = f"{V1}/posts/{{post_id}}"
    url = f"{V1}/posts/{made['id']}"
    views = bob.client.post(
        f"{V1}/views/posts",
        json.dumps([{"post": made["id"], "time": "2026-11-28T01:00:00Z"}, {"post": made["id"]}]),
        content_type="application/json",
    )
    assert check_response(views, "POST", f"{V1}/views/posts") is None
    assert check_response(bob.client.get(url), "GET", one)["views"] == 2
    not_a_list = bob.client.post(
        f"{V1}/views/posts", json.dumps({"post": made["id"]}), content_type="application/json"
    )
    assert check_response(not_a_list, "POST", f"{V1}/views/posts") == {
        "error": "Expected a JSON list of views"
    }
    comment = bob.client.post(f"{url}/comments", {"text": "nice"})
    assert check_response(comment, "POST", f"{one}/comments")["by"] == _user(bob)
    like = bob.client.post(f"{url}/likes", {"liked": "true"})
    assert check_response(like, "POST", f"{one}/likes") is None
    not_author = check_response(bob.client.delete(url), "DELETE", one)
    assert not_author == {"error": "Only the author may delete a post"}

    member = f"{V1}/networks/{{network_id}}/users/{{user_id}}"
    left = bob.client.delete(f"{base}/users/{bob.id}")
    assert check_response(left, "DELETE", member) is None
    outside = check_response(bob.client.get(url), "GET", one)
    assert outside == {"error": "Post not found"}
    assert check_response(alice.client.delete(url), "DELETE", one) is None


@pytest.mark.django_db
def test_videos_answer_as_documented(
    alice: Member, bob: Member, tmp_path: Path, settings: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    upload = SimpleUploadedFile("clip.mp4", b"raw bytes", "video/mp4")
    video = check_response(
        alice.client.post(f"{V1}/videos", {"video": upload}, format="multipart"),
        "POST",
        f"{V1}/videos",
    )
    assert video["status"] == "uploaded"
    outputs = []
    for name in ("out.mp4", "out.webm", "thumb.jpg"):
        path = tmp_path / name
        path.write_bytes(b"not really " + name.encode())
        outputs.append(path)
    video_actions.do_mark_video_ready(Video.objects.get(pk=video["id"]), *outputs)

    one = f"{V1}/videos/{{video_id}}"
    ready = check_response(alice.client.get(f"{V1}/videos/{video['id']}"), "GET", one)
    assert ready["status"] == "ready" and ready["mp4"] and len(ready["thumbnails"]) == 1
    hidden = check_response(bob.client.get(f"{V1}/videos/{video['id']}"), "GET", one)
    assert hidden == {"error": "Not found"}
    empty = alice.client.post(f"{V1}/videos", {}, format="multipart")
    assert check_response(empty, "POST", f"{V1}/videos") == {"error": "video: required"}


@pytest.mark.django_db
def test_health_probes_answer_as_documented(anon: APIClient) -> None:
    assert check_response(anon.get("/healthz"), "GET", "/healthz") == {"status": "ok"}
    ready = check_response(anon.get("/readyz"), "GET", "/readyz")
    assert ready["checks"]["database"]["ok"] is True


def _user(member: Member) -> dict[str, Any]:
    user = member.user
    return {"id": user.pk, "username": user.username, "profile_image": user.profile_image}


# ---- The documents are served, to anyone ----


@pytest.mark.django_db
@pytest.mark.parametrize("credentials", [{}, {"HTTP_X_GP_AUTH": "1-not-a-token"}])
def test_documents_are_served_without_credentials(credentials: dict[str, str]) -> None:
    client = APIClient()
    client.credentials(**credentials)
    as_yaml = client.get(f"{V1}/schema/")
    assert as_yaml.status_code == 200
    assert yaml.safe_load(as_yaml.content) == load_document()
    as_json = client.get(f"{V1}/schema/", {"format": "json"})
    assert as_json.status_code == 200
    assert json.loads(as_json.content) == load_document()

    asyncapi = client.get(f"{V1}/asyncapi.yaml")
    assert asyncapi.status_code == 200
    assert asyncapi["Content-Type"].startswith("application/yaml")
    assert b"".join(asyncapi.streaming_content) == ASYNCAPI_PATH.read_bytes()  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_swagger_ui_loads_nothing_from_other_sites() -> None:
    response = APIClient().get(f"{V1}/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{V1}/schema" in html
    sources = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
    assert sources, html[:500]
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert any("drf_spectacular_sidecar" in s for s in sources), sources
