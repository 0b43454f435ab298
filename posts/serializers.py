"""Network, post and comment shapes (rest-api.md, Shapes), shared by REST and websocket events."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.serializers import UserSerializer
from gleepost.times import format_time
from posts.models import Comment, Network, Post


class NetworkSerializer(serializers.ModelSerializer[Network]):
    """``{"id", "name"}``."""

    class Meta:
        model = Network
        fields = ["id", "name"]
        read_only_fields = fields


class PostSerializer(serializers.ModelSerializer[Post]):
    """``{"id", "by": user, "text", "timestamp", "network": <id>, "views": <count>}``."""

    by = UserSerializer(read_only=True)
    timestamp = serializers.SerializerMethodField()
    network = serializers.IntegerField(source="network_id", read_only=True)
    views = serializers.IntegerField(source="views_count", read_only=True)

    class Meta:
        model = Post
        fields = ["id", "by", "text", "timestamp", "network", "views"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_timestamp(self, post: Post) -> str:
        return format_time(post.timestamp)


class CommentSerializer(serializers.ModelSerializer[Comment]):
    """``{"id", "by": user, "text", "timestamp"}``."""

    by = UserSerializer(read_only=True)
    timestamp = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "by", "text", "timestamp"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_timestamp(self, comment: Comment) -> str:
        return format_time(comment.timestamp)
