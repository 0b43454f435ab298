"""The notification shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from notifications.models import Notification
from notifications.serializers import NotificationSerializer
from posts.models import Post

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = pytest.mark.django_db

WHEN = datetime(2013, 12, 16, 14, 33, 40, 260990, tzinfo=UTC)


def test_a_notification_not_about_a_post_has_no_post_key(alice: Member, bob: Member) -> None:
    notification = Notification.objects.create(
        recipient=bob.user, actor=alice.user, type="added_you", time=WHEN
    )
    assert NotificationSerializer(notification).data == {
        "id": notification.pk,
        "type": "added_you",
        "time": "2013-12-16T14:33:40.260990Z",
        "user": {
            "id": alice.id,
            "username": "alice",
            "profile_image": "https://img.example.com/alice.jpg",
        },
        "seen": False,
    }


def test_a_notification_about_a_post_carries_its_id(post: Post, bob: Member) -> None:
    notification = Notification.objects.create(
        recipient=post.by, actor=bob.user, type="liked", post=post, time=WHEN, seen=True
    )
    assert NotificationSerializer(notification).data == {
        "id": notification.pk,
        "type": "liked",
        "time": "2013-12-16T14:33:40.260990Z",
        "user": {"id": bob.id, "username": "bob", "profile_image": ""},
        "seen": True,
        "post": post.pk,
    }
