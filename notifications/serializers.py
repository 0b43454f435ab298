"""Notification and contact shapes (rest-api.md, Shapes), shared by REST and websocket events."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.serializers import UserSerializer
from gleepost.times import format_time
from notifications.models import Contact, Notification


class NotificationSerializer(serializers.ModelSerializer[Notification]):
    """``{"id", "type", "time", "user": <actor>, "seen"}``, plus ``"post": <id>`` if about one."""

    time = serializers.SerializerMethodField()
    user = UserSerializer(source="actor", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "type", "time", "user", "seen"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_time(self, notification: Notification) -> str:
        return format_time(notification.time)

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        # Absent rather than null: only notifications about a post carry the key.
        if instance.post_id is not None:
            data["post"] = instance.post_id
        return data


def contact_data(contact: Contact, other: User) -> dict[str, Any]:
    """``{"user": <the other party>, "accepted"}``, as the caller of a contact endpoint sees it."""
    return {"user": UserSerializer(other).data, "accepted": contact.accepted}
