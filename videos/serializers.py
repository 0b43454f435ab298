"""The video shape (rest-api.md, Shapes), shared by ``GET videos/{id}`` and video-ready events."""

from __future__ import annotations

from typing import Any

from django.db.models.fields.files import FieldFile
from rest_framework import serializers

from videos.models import Video


class VideoSerializer(serializers.ModelSerializer[Video]):
    """``{"id", "status"}``, plus ``"mp4"``, ``"webm"`` and ``"thumbnails"`` once ready.

    URLs come from the storage alone, never from a request, so the REST response and the
    websocket event built without a request are equal.
    """

    class Meta:
        model = Video
        fields = ["id", "status"]
        read_only_fields = fields

    def to_representation(self, instance: Video) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if instance.status == Video.Status.READY:
            data["mp4"] = _url(instance.mp4)
            data["webm"] = _url(instance.webm)
            data["thumbnails"] = [url for url in [_url(instance.thumbnail)] if url]
        return data


def _url(file: FieldFile) -> str:
    # A ready video always has its files; "" keeps a hand-edited row from breaking the API.
    return file.url if file.name else ""
