"""How ``conversations.serializers.ParticipantsField`` reaches the API document: written, the
others' ids; read, the users."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension

from accounts.serializers import UserSerializer
from gleepost.fields import ID_LIST_PATTERN


class ParticipantsFieldScheme(OpenApiSerializerFieldExtension):
    target_class = "conversations.serializers.ParticipantsField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        if direction == "request":
            return {"type": "string", "pattern": ID_LIST_PATTERN}
        user = auto_schema.resolve_serializer(UserSerializer, direction).ref
        return {"type": "array", "items": user}
