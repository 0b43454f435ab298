"""Refuse oversized request bodies with 413 before anything reads them."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from gleepost.conf import gp_settings

# Multipart framing around an uploaded file: boundaries, headers, credentials.
UPLOAD_OVERHEAD_BYTES = 64 * 1024
VIDEO_UPLOAD_PATHS = ("/api/v1/videos", "/api/v1/videos/")


def max_body_bytes(path: str) -> int:
    """The largest body accepted on ``path``: a video upload, or an ordinary request."""
    if path in VIDEO_UPLOAD_PATHS:
        return gp_settings.MAX_VIDEO_MB * 1024 * 1024 + UPLOAD_OVERHEAD_BYTES
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) or 2 * 1024 * 1024


class RequestSizeLimitMiddleware:
    """DRF's JSON parser reads the whole body whatever its size; stop that at the door."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            return JsonResponse({"error": "Malformed Content-Length"}, status=400)
        limit = max_body_bytes(request.path)
        # gleepost.handler stops reading a body sent without Content-Length past the limit.
        if length > limit or getattr(request, "body_over_limit", False):
            return JsonResponse(
                {"error": f"Request body too large (at most {limit} bytes)"}, status=413
            )
        return self.get_response(request)
