"""The console's pages: login by email under POST login's rate limits, the page, the admin link."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from conversations import actions as conversation_actions
from realtime import close_codes
from tests.conftest import Member

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def log_in(client: Client, email: str, password: str = PASSWORD) -> Any:
    return client.post("/console/login/", {"username": email, "password": password})


def test_console_sends_anonymous_visitors_to_its_login_form(client: Client) -> None:
    response = client.get("/console/")
    assert response.status_code == 302
    assert response["Location"] == "/console/login/?next=/console/"
    form = client.get("/console/login/")
    assert form.status_code == 200
    assert b'name="username"' in form.content and b'type="email"' in form.content


def test_login_with_email_and_password_opens_the_console(client: Client, alice: Member) -> None:
    response = log_in(client, "ALICE@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/console/"
    page = client.get("/console/")
    assert page.status_code == 200
    # console.js uses what the other two define, so it comes last.
    scripts = re.findall(rb'<script src="/static/console/([a-z]+\.js)" defer>', page.content)
    assert scripts == [b"summary.js", b"conversations.js", b"console.js"]
    assert b'data-ws-path="/api/v1/ws"' in page.content
    # console.js acts on the close codes the page gives it, each the module's CLOSE_<name>.
    (rendered,) = re.findall(rb'data-close-codes="([^"]*)"', page.content)
    sent = {
        name.removeprefix("CLOSE_"): value
        for name, value in vars(close_codes).items()
        if name.startswith("CLOSE_") and isinstance(value, int)
    }
    assert json.loads(html.unescape(rendered.decode())) == sent
    assert sent["INVALID_CREDENTIALS"] == close_codes.CLOSE_INVALID_CREDENTIALS
    assert b'<meta name="csrf-token" content="' in page.content
    assert page.context["user"] == alice.user


def test_wrong_password_is_refused_with_a_message(client: Client, alice: Member) -> None:
    response = log_in(client, "alice@example.com", "wrong password")
    assert response.status_code == 200
    assert b"Wrong email or password." in response.content
    assert client.get("/console/").status_code == 302


def test_username_is_not_accepted_in_place_of_the_email(client: Client, alice: Member) -> None:
    response = log_in(client, "alice")
    assert response.status_code == 200
    assert b"Enter a valid email address." in response.content
    assert client.get("/console/").status_code == 302


def test_inactive_user_cannot_log_in(client: Client, alice: Member) -> None:
    User.objects.filter(pk=alice.id).update(is_active=False)
    response = log_in(client, "alice@example.com")
    assert response.status_code == 200
    assert b"Wrong email or password." in response.content


@pytest.fixture
def limits(settings: Any) -> Callable[..., None]:
    def set_limits(**values: int) -> None:
        settings.GLEEPOST = {**getattr(settings, "GLEEPOST", {}), **values}

    return set_limits


def test_failures_through_the_api_count_against_the_console_form(
    client: Client, alice: Member, limits: Callable[..., None]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=2)
    for _ in range(2):
        api = client.post("/api/v1/login", {"email": "alice@example.com", "pass": "guess"})
        assert api.status_code == 400
    # The right password, but the guesser's allowance is spent: refused before it is checked.
    response = log_in(client, "alice@example.com")
    assert response.status_code == 429
    assert response["Retry-After"].isdigit()
    assert re.search(rb"Too many attempts; try again in \d+ seconds", response.content)
    assert client.get("/console/").status_code == 302


def test_console_attempts_count_against_the_per_ip_limit(
    client: Client, alice: Member, limits: Callable[..., None]
) -> None:
    limits(LOGIN_ATTEMPTS_PER_IP=3)
    for _ in range(3):
        assert log_in(client, "nobody@example.com").status_code == 200
    assert log_in(client, "alice@example.com").status_code == 429
    api = client.post("/api/v1/login", {"email": "alice@example.com", "pass": PASSWORD})
    assert api.status_code == 429


def test_success_clears_the_failures_as_post_login_does(
    client: Client, alice: Member, limits: Callable[..., None]
) -> None:
    limits(LOGIN_FAILURES_PER_ACCOUNT_AND_IP=2)
    assert log_in(client, "alice@example.com", "guess").status_code == 200
    assert log_in(client, "alice@example.com").status_code == 302
    client.post("/console/logout/")
    assert log_in(client, "alice@example.com", "guess").status_code == 200
    assert log_in(client, "alice@example.com").status_code == 302


def test_logout_ends_the_session(client: Client, alice: Member) -> None:
    log_in(client, "alice@example.com")
    response = client.post("/console/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/console/login/"
    assert client.get("/console/").status_code == 302


def test_session_writes_to_the_api_need_the_pages_csrf_token(alice: Member, bob: Member) -> None:
    conversation, _ = conversation_actions.do_create_conversation(alice.user, [bob.id])
    client = Client(enforce_csrf_checks=True)
    log_in_response = client.post(
        "/console/login/",
        {"username": "alice@example.com", "password": PASSWORD, "csrfmiddlewaretoken": "x"},
    )
    assert log_in_response.status_code == 403  # the login form itself is CSRF-protected
    client.get("/console/login/")
    token = client.cookies["csrftoken"].value
    client.post(
        "/console/login/",
        {"username": "alice@example.com", "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    page = client.get("/console/").content.decode()
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert match is not None
    url = f"/api/v1/conversations/{conversation.pk}/messages"
    refused = client.post(url, {"text": "no token"}, content_type="application/json")
    assert refused.status_code == 403
    sent = client.post(
        url, {"text": "hello"}, content_type="application/json", HTTP_X_CSRFTOKEN=match[1]
    )
    assert sent.status_code == 201
    assert sent.json()["text"] == "hello"
    assert sent.json()["by"]["id"] == alice.id


def test_admin_header_links_to_the_console(client: Client) -> None:
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client.login(username="root", password=PASSWORD)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b'<a href="/console/">Live console</a>' in response.content
