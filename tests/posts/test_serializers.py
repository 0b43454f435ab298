"""The network, post and comment shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from posts.actions import do_comment
from posts.models import Network, Post
from posts.serializers import CommentSerializer, NetworkSerializer, PostSerializer

if TYPE_CHECKING:
    from tests.conftest import Member

pytestmark = pytest.mark.django_db

WHEN = datetime(2013, 12, 12, 15, 20, 54, 665361, tzinfo=UTC)


def test_network_shape(campus: Network) -> None:
    assert NetworkSerializer(campus).data == {"id": campus.pk, "name": "Campus"}


def test_post_shape_carries_the_network_id_and_the_views_count(post: Post, alice: Member) -> None:
    post.timestamp = WHEN
    post.views_count = 355
    assert PostSerializer(post).data == {
        "id": post.pk,
        "by": {
            "id": alice.id,
            "username": "alice",
            "profile_image": "https://img.example.com/alice.jpg",
        },
        "text": "Hello campus",
        "timestamp": "2013-12-12T15:20:54.665361Z",
        "network": post.network_id,
        "views": 355,
    }


def test_comment_shape(post: Post, bob: Member) -> None:
    comment = do_comment(post, bob.user, "Nice")
    comment.timestamp = WHEN
    assert CommentSerializer(comment).data == {
        "id": comment.pk,
        "by": {"id": bob.id, "username": "bob", "profile_image": ""},
        "text": "Nice",
        "timestamp": "2013-12-12T15:20:54.665361Z",
    }
