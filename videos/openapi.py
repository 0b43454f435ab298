"""OpenAPI shapes of the videos endpoints (rest-api.md, Videos)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gleepost.conf import DEFAULTS


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class UploadField(serializers.FileField):
    """A file part of a multipart body, not empty."""


class VideoUploadSerializer(serializers.Serializer[Any]):
    video = UploadField(
        help_text=f"The video file, at most {DEFAULTS['MAX_VIDEO_MB']} MB (GLEEPOST_MAX_VIDEO_MB)."
    )


class VideoScheme(OpenApiSerializerExtension):
    """The video shape, plus its files once ready (``VideoSerializer`` adds them in
    ``to_representation``)."""

    target_class = "videos.serializers.VideoSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        url = {"type": "string", "description": "Only once `status` is `ready`."}
        schema["properties"].update(
            mp4=url,
            webm=url,
            thumbnails={**url, "type": "array", "items": {"type": "string"}},
        )
        return schema
