"""seed_demo gives a new user something to try: users with working tokens, posts, chats."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.models import User
from conversations.models import Conversation
from posts.models import Network, Post

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_data_and_working_tokens() -> None:
    output = seed()
    assert set(User.objects.values_list("username", flat=True)) == {"alice", "bob", "carol"}
    network = Network.objects.get(name="Demo Campus")
    assert network.memberships.count() == 3
    assert Post.objects.filter(network=network).count() == 2
    assert Conversation.objects.filter(expiry_time__isnull=True).count() == 1
    assert Conversation.objects.filter(expiry_time__isnull=False).count() == 1
    tokens = re.findall(r"(\w+)\s+id=(\d+)\s+email=\S+\s+token=([0-9a-f]{64})", output)
    assert len(tokens) == 3
    for _, user_id, token in tokens:
        client = APIClient()
        response = client.get("/api/v1/conversations", HTTP_X_GP_AUTH=f"{user_id}-{token}")
        assert response.status_code == 200
        assert len(response.json()) >= 1
    assert "-m websockets 'ws://127.0.0.1:8000/api/v1/ws?id=" in output


def test_seed_demo_twice_does_not_duplicate() -> None:
    seed()
    seed()
    assert User.objects.count() == 3
    assert Network.objects.count() == 1
    assert Post.objects.count() == 2
    assert Conversation.objects.filter(expiry_time__isnull=True).count() == 1
