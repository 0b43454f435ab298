"""The user shape, shared by every resource that embeds a user and by websocket events."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import User


class UserSerializer(serializers.ModelSerializer[User]):
    """``{"id", "username", "profile_image"}``; ``profile_image`` is ``""`` when none."""

    class Meta:
        model = User
        fields = ["id", "username", "profile_image"]
        read_only_fields = fields
