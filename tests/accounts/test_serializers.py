"""The user shape: the plain builder gives exactly what the serializer gives."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from accounts.serializers import UserSerializer, user_data
from tests.conftest import Member

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("username", "profile_image"),
    [("alice", "https://img.example.com/alice.jpg"), ("bob", ""), ("zoë_ünïcode", "")],
)
def test_user_data_equals_the_serializers_shape(
    make_member: Callable[..., Member], username: str, profile_image: str
) -> None:
    user = make_member(username, profile_image=profile_image).user
    expected = dict(UserSerializer(user).data)
    assert user_data(user) == expected
    # The same keys in the same order: the JSON text of events is compared byte for byte.
    assert json.dumps(user_data(user)) == json.dumps(expected)
