"""register, login, logout, user/{id} and every way of presenting credentials."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuthToken, User
from accounts.tokens import hash_token
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def test_register_creates_user(anon: APIClient) -> None:
    response = anon.post(
        "/api/v1/register", {"username": "eve", "email": "eve@example.com", "pass": "longenough"}
    )
    assert response.status_code == 201
    user = User.objects.get(username="eve")
    assert response.json() == {"id": user.pk, "username": "eve"}
    assert user.check_password("longenough")


def test_register_accepts_json_body(anon: APIClient) -> None:
    response = anon.post(
        "/api/v1/register/",
        {"username": "eve", "email": "eve@example.com", "pass": "longenough"},
        format="json",
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"username": "eve", "email": "eve@example.com", "pass": "short"}, "pass"),
        ({"username": "eve", "email": "not-an-email", "pass": "longenough"}, "email"),
        ({"username": "bad name!", "email": "eve@example.com", "pass": "longenough"}, "username"),
        ({"email": "eve@example.com", "pass": "longenough"}, "username"),
        ({"username": "e" * 151, "email": "eve@example.com", "pass": "longenough"}, "username"),
        ({"username": "eve", "email": "eve@example.com", "pass": "x" * 257}, "pass"),
    ],
)
def test_register_rejects_bad_input(anon: APIClient, params: dict[str, str], needle: str) -> None:
    response = anon.post("/api/v1/register", params)
    assert response.status_code == 400
    assert needle in response.json()["error"]
    assert not User.objects.exists()


def test_register_rejects_taken_username_and_email_regardless_of_case(
    anon: APIClient, alice: Member
) -> None:
    taken_name = anon.post(
        "/api/v1/register", {"username": "ALICE", "email": "new@example.com", "pass": "longenough"}
    )
    taken_email = anon.post(
        "/api/v1/register",
        {"username": "newname", "email": "Alice@Example.com", "pass": "longenough"},
    )
    assert taken_name.status_code == 400 and "username" in taken_name.json()["error"]
    assert taken_email.status_code == 400 and "email" in taken_email.json()["error"]
    assert User.objects.count() == 1


def test_login_returns_token_that_authenticates(anon: APIClient, alice: Member) -> None:
    response = anon.post(
        "/api/v1/login", {"email": "alice@example.com", "pass": "correct horse battery"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == alice.id
    assert len(body["value"]) == 64
    assert body["expiry"].endswith("Z")
    me = anon.get(f"/api/v1/user/{alice.id}", {"id": alice.id, "token": body["value"]})
    assert me.status_code == 200


def test_login_stores_only_the_hash(anon: APIClient, alice: Member) -> None:
    body = anon.post(
        "/api/v1/login", {"email": "alice@example.com", "pass": "correct horse battery"}
    ).json()
    stored = AuthToken.objects.filter(user=alice.user).values_list("key_hash", flat=True)
    assert hash_token(body["value"]) in stored
    assert body["value"] not in stored


@pytest.mark.parametrize(
    "params",
    [
        {"email": "alice@example.com", "pass": "wrong password"},
        {"email": "nobody@example.com", "pass": "correct horse battery"},
    ],
)
def test_login_refuses_bad_email_or_password(
    anon: APIClient, alice: Member, params: dict[str, str]
) -> None:
    response = anon.post("/api/v1/login", params)
    assert response.status_code == 400
    assert response.json() == {"error": "Bad email/password"}


def test_login_requires_both_parameters(anon: APIClient) -> None:
    response = anon.post("/api/v1/login", {"email": "alice@example.com"})
    assert response.status_code == 400
    assert "pass" in response.json()["error"]


def test_user_shape(alice: Member, bob: Member) -> None:
    response = bob.client.get(f"/api/v1/user/{alice.id}")
    assert response.json() == {
        "id": alice.id,
        "username": "alice",
        "profile_image": "https://img.example.com/alice.jpg",
    }
    assert bob.client.get(f"/api/v1/user/{bob.id}").json()["profile_image"] == ""


def test_unknown_user_is_404(alice: Member) -> None:
    response = alice.client.get("/api/v1/user/999999")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_logout_revokes_the_token_at_once(alice: Member) -> None:
    assert alice.client.post("/api/v1/logout").status_code == 204
    response = alice.client.get(f"/api/v1/user/{alice.id}")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials"}


def test_logout_leaves_other_tokens_valid(alice: Member) -> None:
    second = APIClient()
    login = second.post(
        "/api/v1/login", {"email": "alice@example.com", "pass": "correct horse battery"}
    ).json()
    alice.client.post("/api/v1/logout")
    response = second.get(f"/api/v1/user/{alice.id}", {"id": alice.id, "token": login["value"]})
    assert response.status_code == 200


class TestCredentials:
    def test_query_string(self, anon: APIClient, alice: Member) -> None:
        url = f"/api/v1/user/{alice.id}?id={alice.id}&token={alice.token}"
        assert anon.get(url).status_code == 200

    def test_header(self, anon: APIClient, alice: Member) -> None:
        response = anon.get(f"/api/v1/user/{alice.id}", HTTP_X_GP_AUTH=alice.auth_header)
        assert response.status_code == 200

    def test_form_body(self, anon: APIClient, alice: Member) -> None:
        response = anon.post("/api/v1/logout", {"id": alice.id, "token": alice.token})
        assert response.status_code == 204

    def test_json_body(self, anon: APIClient, alice: Member) -> None:
        response = anon.post(
            "/api/v1/logout", {"id": alice.id, "token": alice.token}, format="json"
        )
        assert response.status_code == 204

    def test_session(self, alice: Member) -> None:
        client = APIClient()
        client.force_login(alice.user)
        assert client.get(f"/api/v1/user/{alice.id}").status_code == 200

    def test_session_write_needs_csrf_token(self, alice: Member) -> None:
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(alice.user)
        response = client.post("/api/v1/conversations", {"participants": "1"})
        assert response.status_code == 403

    @pytest.mark.parametrize(
        "auth",
        [
            {},
            {"HTTP_X_GP_AUTH": "garbage"},
            {"HTTP_X_GP_AUTH": "1-"},
            {"QUERY_STRING": "id=abc&token=def"},
            {"QUERY_STRING": "token=def"},
        ],
    )
    def test_missing_or_malformed_is_401(
        self, anon: APIClient, alice: Member, auth: dict[str, str]
    ) -> None:
        response = anon.get(f"/api/v1/user/{alice.id}", **auth)
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid credentials"}

    def test_wrong_token_is_401(self, anon: APIClient, alice: Member) -> None:
        response = anon.get(f"/api/v1/user/{alice.id}", HTTP_X_GP_AUTH=f"{alice.id}-{'0' * 64}")
        assert response.status_code == 401

    def test_another_users_id_with_your_token_is_401(
        self, anon: APIClient, alice: Member, bob: Member
    ) -> None:
        response = anon.get(f"/api/v1/user/{alice.id}", HTTP_X_GP_AUTH=f"{bob.id}-{alice.token}")
        assert response.status_code == 401

    def test_expired_token_is_401(self, anon: APIClient, alice: Member) -> None:
        AuthToken.objects.filter(user=alice.user).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        response = anon.get(f"/api/v1/user/{alice.id}", HTTP_X_GP_AUTH=alice.auth_header)
        assert response.status_code == 401

    def test_inactive_user_is_401(self, anon: APIClient, alice: Member) -> None:
        User.objects.filter(pk=alice.id).update(is_active=False)
        response = anon.get(f"/api/v1/user/{alice.id}", HTTP_X_GP_AUTH=alice.auth_header)
        assert response.status_code == 401
