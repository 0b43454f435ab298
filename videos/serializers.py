"""The video shape (rest-api.md, Shapes), shared by ``GET videos/{id}`` and video-ready events,
and the upload that makes one."""

from __future__ import annotations

from typing import Any

from django.db.models.fields.files import FieldFile
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gleepost.conf import DEFAULTS
from gleepost.media_urls import absolute_media_url
from gleepost.openapi import omitted_when_absent
from videos.models import Video


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class UploadField(serializers.FileField):
    """A file part of a multipart body, not empty."""

    default_error_messages = {
        "required": "required",
        "null": "required",
        "invalid": "must be a file sent as multipart/form-data",
        "no_name": "must be a file sent as multipart/form-data",
        "empty": "the file is empty",
    }


ONCE_READY = (
    ", absolute on the deployment's GLEEPOST_PUBLIC_URL (a path when that is unset). "
    "Only once `status` is `ready`."
)


@omitted_when_absent("mp4", "webm", "thumbnails")
class VideoSerializer(serializers.ModelSerializer[Video]):
    """``{"id", "status"}``, plus ``"mp4"``, ``"webm"`` and ``"thumbnails"`` once ready.
    Uploading one takes the file as ``video``."""

    video = UploadField(
        write_only=True,
        help_text=f"The video file, at most {DEFAULTS['MAX_VIDEO_MB']} MB (GLEEPOST_MAX_VIDEO_MB).",
    )
    mp4 = serializers.SerializerMethodField(help_text=f"Its URL{ONCE_READY}")
    webm = serializers.SerializerMethodField(help_text=f"Its URL{ONCE_READY}")
    thumbnails = serializers.SerializerMethodField(help_text=f"Their URLs{ONCE_READY}")

    class Meta:
        model = Video
        fields = ["id", "status", "video", "mp4", "webm", "thumbnails"]
        read_only_fields = ["id", "status"]

    # URLs come from the storage and the settings alone, never from a request, so the REST
    # response and the websocket event built without a request are equal.

    def get_mp4(self, video: Video) -> str:
        return _url(video.mp4)

    def get_webm(self, video: Video) -> str:
        return _url(video.webm)

    def get_thumbnails(self, video: Video) -> list[str]:
        return [url for url in [_url(video.thumbnail)] if url]

    def to_representation(self, instance: Video) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if instance.status != Video.Status.READY:
            for name in ("mp4", "webm", "thumbnails"):
                del data[name]
        return data


def _url(file: FieldFile) -> str:
    # A ready video always has its files; "" keeps a hand-edited row from breaking the API.
    return absolute_media_url(file.url) if file.name else ""
