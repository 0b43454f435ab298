"""Notification and contact shapes (rest-api.md, Shapes), shared by REST and websocket events."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from accounts.serializers import UserSerializer, user_data
from gleepost.fields import BoolField, IdField, TrueField
from gleepost.openapi import omitted_when_absent
from gleepost.times import format_time
from notifications.models import Contact, Notification


@omitted_when_absent("post")
class NotificationSerializer(serializers.ModelSerializer[Notification]):
    """``{"id", "type", "time", "user": <actor>, "seen"}``, plus ``"post": <id>`` if about one."""

    time = serializers.SerializerMethodField()
    user = UserSerializer(source="actor", read_only=True)
    post = serializers.IntegerField(
        source="post_id",
        read_only=True,
        help_text="The post it is about (`commented`, `liked`); absent otherwise.",
    )

    class Meta:
        model = Notification
        fields = ["id", "type", "time", "user", "seen", "post"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_time(self, notification: Notification) -> str:
        return format_time(notification.time)

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        # Absent rather than null: only notifications about a post carry the key.
        if data["post"] is None:
            del data["post"]
        return data


class ContactSerializer(serializers.Serializer[Contact]):
    """A contact as the caller of a contact endpoint sees it: the other party, and whether
    the request is accepted."""

    user = UserSerializer(read_only=True, help_text="The other party.")
    accepted = serializers.BooleanField(read_only=True)

    # Renders with ``other`` (the other party) in the context.

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        return contact_data(instance, self.context["other"])


def contact_data(contact: Contact, other: User) -> dict[str, Any]:
    """``ContactSerializer``'s shape of ``contact``, seen by the party that is not ``other``."""
    return {"user": user_data(other), "accepted": contact.accepted}


class NotificationPageSerializer(serializers.Serializer[Any]):
    """Which of the caller's notifications (query string)."""

    include_seen = BoolField(required=False, default=False, help_text="`true`: seen ones too.")
    before = IdField(required=False, help_text="Only notifications with a smaller id.")
    after = IdField(required=False, help_text="Only notifications with a greater id.")


class MarkSeenSerializer(serializers.Serializer[Any]):
    """Marking notifications seen."""

    seen = IdField(help_text="A notification id: it and every older one are seen.")


class RequestContactSerializer(serializers.Serializer[Any]):
    """Asking a user to become a contact."""

    user = IdField(help_text="The user to add.")


class AcceptContactSerializer(serializers.Serializer[Any]):
    """Accepting a contact request."""

    accepted = TrueField(help_text="Only `true`.")
