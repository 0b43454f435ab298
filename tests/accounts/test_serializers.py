"""The user shapes: the serializers' fast rendering gives exactly their declared fields."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from rest_framework import serializers

from accounts.actions import do_set_presence
from accounts.serializers import UserDetailSerializer, UserSerializer
from tests.conftest import Member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "profile_image"),
    [("alice", "https://img.example.com/alice.jpg"), ("bob", ""), ("zoë_ünïcode", "")],
)
def test_the_user_is_rendered_as_declared(
    make_member: Callable[..., Member], username: str, profile_image: str
) -> None:
    user = make_member(username, profile_image=profile_image).user
    declared = serializers.ModelSerializer.to_representation(UserSerializer(), user)
    # The same keys in the same order: the JSON text of events is compared byte for byte.
    assert json.dumps(UserSerializer(user).data) == json.dumps(declared)
    assert list(declared) == ["id", "username", "profile_image"]


def test_the_user_detail_is_rendered_as_declared_with_presence_where_shown(
    alice: Member,
) -> None:
    def declared() -> dict[str, object]:
        user = type(alice.user).objects.get(pk=alice.id)
        data = serializers.ModelSerializer.to_representation(UserDetailSerializer(), user)
        return json.loads(json.dumps(data))

    def rendered(show: bool) -> dict[str, object]:
        user = type(alice.user).objects.get(pk=alice.id)
        context = {"show_presence": show}
        return json.loads(json.dumps(UserDetailSerializer(user, context=context).data))

    never_seen = declared()
    assert never_seen.pop("presence") == {"form": "", "at": None}
    assert rendered(True) == never_seen
    do_set_presence(alice.user, "mobile")
    assert rendered(True) == declared()
    assert list(declared()) == ["id", "username", "profile_image", "presence"]
    assert rendered(False) == never_seen
