"""Network, post and comment shapes (rest-api.md, Shapes), shared by REST and websocket events."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserSerializer, UsersField
from gleepost.conf import gp_settings
from gleepost.fields import BoolField, BoundedIntField, IdField, TextField, TimeField
from gleepost.times import format_time
from posts.actions import MAX_NETWORK_NAME_CHARS
from posts.models import Comment, Network, Post

# Users added to a network in one request, at most.
MAX_USERS_PER_REQUEST = 100


class NetworkSerializer(serializers.ModelSerializer[Network]):
    """``{"id", "name"}``; creating one takes ``name``."""

    name = TextField(max_length=MAX_NETWORK_NAME_CHARS)

    class Meta:
        model = Network
        fields = ["id", "name"]
        read_only_fields = ["id"]


class NetworkMembersSerializer(serializers.Serializer[Any]):
    """A network's members after a change; adding some takes ``users``."""

    users = UsersField(
        max_count=MAX_USERS_PER_REQUEST,
        help_text="Comma-separated user ids, e.g. `2,3` (a JSON body may send a list of ids); "
        "answered: every member, oldest member first.",
    )

    # Renders a list of users as ``{"users": [...]}``.

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {"users": self.fields["users"].to_representation(instance)}


class PostSerializer(serializers.ModelSerializer[Post]):
    """``{"id", "by": user, "text", "timestamp", "network": <id>, "views": <count>}``."""

    by = UserSerializer(read_only=True)
    text = TextField(max_length=lambda: gp_settings.MAX_POST_CHARS)
    timestamp = serializers.SerializerMethodField()
    network = serializers.IntegerField(source="network_id", read_only=True)
    views = serializers.IntegerField(source="views_count", read_only=True)

    class Meta:
        model = Post
        fields = ["id", "by", "text", "timestamp", "network", "views"]
        read_only_fields = ["id", "by", "timestamp", "network", "views"]

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_timestamp(self, post: Post) -> str:
        return format_time(post.timestamp)


class CommentSerializer(serializers.ModelSerializer[Comment]):
    """``{"id", "by": user, "text", "timestamp"}``."""

    by = UserSerializer(read_only=True)
    text = TextField(max_length=lambda: gp_settings.MAX_COMMENT_CHARS)
    timestamp = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "by", "text", "timestamp"]
        read_only_fields = ["id", "by", "timestamp"]

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_timestamp(self, comment: Comment) -> str:
        return format_time(comment.timestamp)


# Deeper offsets than this are refused: clients page with ``before`` instead.
MAX_START = 100_000


class PostPageSerializer(serializers.Serializer[Any]):
    """Which of a network's posts (query string)."""

    before = IdField(required=False, help_text="Only posts with a smaller id.")
    start = BoundedIntField(
        minimum=0, maximum=MAX_START, default=0, help_text="How many to skip; default 0."
    )


class LikeSerializer(serializers.Serializer[Any]):
    """Liking a post, or taking the like back."""

    liked = BoolField(help_text="`true` likes the post, `false` takes it back.")


class ViewSerializer(serializers.Serializer[Any]):
    """One view of a post."""

    post = IdField()
    time = TimeField(required=False, help_text="When it was seen; default now.")
