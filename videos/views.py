"""The ``videos`` endpoints (rest-api.md, Videos). Views parse; actions act."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from gleepost.api import ApiView
from gleepost.conf import gp_settings
from gleepost.errors import too_large
from gleepost.openapi import error
from gleepost.params import validated
from videos.actions import do_upload_video, get_video_for, max_video_bytes
from videos.serializers import VideoSerializer

# Room for the multipart boundaries, headers and credentials around a file at the size limit.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


class VideoUploadView(ApiView):
    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before authentication, which may read credentials from the body: an oversized body is
        # refused without being parsed (and spooled to disk) first.
        _refuse_oversized_body(request)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a video",
        description="The worker (`manage.py process_videos`) makes it ready later; its owner "
        "then gets **video-ready**.",
        request={"multipart/form-data": VideoSerializer},
        responses={
            201: VideoSerializer,
            400: error("No file `video`, more than one, or an empty one."),
            413: error("The file is larger than `MAX_VIDEO_MB`."),
        },
    )
    def post(self, request: Request) -> Response:
        """Store the multipart file ``video``; the worker processes it later."""
        upload = validated(request, VideoSerializer)["video"]
        video = do_upload_video(request_user(request), upload)
        return Response(VideoSerializer(video).data, status=status.HTTP_201_CREATED)


class VideoView(ApiView):
    @extend_schema(summary="A video", responses=VideoSerializer)
    def get(self, request: Request, video_id: int) -> Response:
        """The video, to its owner only; to anyone else it does not exist."""
        video = get_video_for(request_user(request), video_id)
        return Response(VideoSerializer(video).data)


def _refuse_oversized_body(request: Request) -> None:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        # Django reads a malformed length as no body; the file checks below still apply.
        return
    if declared > max_video_bytes() + MULTIPART_OVERHEAD_BYTES:
        raise too_large(f"video: larger than {gp_settings.MAX_VIDEO_MB} MB")
