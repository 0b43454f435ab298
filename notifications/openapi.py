"""OpenAPI shapes of the notifications and contacts endpoints (rest-api.md, Notifications)
that the views read or build by hand."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from accounts.serializers import UserSerializer
from gleepost.openapi import TrueField, id_field


class NotificationScheme(OpenApiSerializerExtension):
    """The notification shape, plus ``post`` when it is about a post (``NotificationSerializer``
    adds it in ``to_representation``)."""

    target_class = "notifications.serializers.NotificationSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        schema["properties"]["post"] = {
            "type": "integer",
            "description": "The post it is about (`commented`, `liked`); absent otherwise.",
        }
        return schema


class ContactSerializer(serializers.Serializer[Any]):
    user = UserSerializer(help_text="The other party.")
    accepted = serializers.BooleanField()


class MarkSeenSerializer(serializers.Serializer[Any]):
    seen = id_field(help_text="A notification id: it and every older one are seen.")


class RequestContactSerializer(serializers.Serializer[Any]):
    user = id_field(help_text="The user to add.")


class AcceptContactSerializer(serializers.Serializer[Any]):
    accepted = TrueField(help_text="Only `true`.")
