"""Oversized bodies are refused with 413 before any parser reads them."""

from __future__ import annotations

import json

import pytest

from conversations.models import Conversation
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def test_oversized_json_body_is_413(alice: Member, bob: Member) -> None:
    body = json.dumps({"participants": str(bob.id), "padding": "x" * (3 * 1024 * 1024)})
    response = alice.client.post(
        "/api/v1/conversations", data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert "too large" in response.json()["error"]
    assert not Conversation.objects.exists()


def test_body_under_the_limit_is_accepted(alice: Member, bob: Member) -> None:
    body = json.dumps({"participants": str(bob.id), "padding": "x" * (1024 * 1024)})
    response = alice.client.post(
        "/api/v1/conversations", data=body, content_type="application/json"
    )
    assert response.status_code == 201


def test_malformed_json_is_400(alice: Member) -> None:
    response = alice.client.post(
        "/api/v1/conversations", data="{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Malformed request body")


def test_unknown_api_path_is_json_404(alice: Member) -> None:
    response = alice.client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_wrong_method_is_405_with_error(alice: Member) -> None:
    response = alice.client.patch("/api/v1/conversations")
    assert response.status_code == 405
    assert "error" in response.json()
