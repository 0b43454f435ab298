"""Refuse oversized request bodies with 413 before anything reads them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

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
        # Under ASGI, a body sent without Content-Length (chunked) that went past the limit has
        # been given one by RequestBodyLimit (below): the length it had when reading stopped.
        if length > limit:
            return JsonResponse(
                {"error": f"Request body too large (at most {limit} bytes)"}, status=413
            )
        return self.get_response(request)


Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_END_OF_BODY: Message = {"type": "http.request", "body": b"", "more_body": False}


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None if it has none (or a malformed one)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class RequestBodyLimit:
    """ASGI middleware: Django's ASGIHandler reads a request's whole body into a file before
    any Django middleware runs, however large it is. This one hands Django the body only up to
    ``max_body_bytes`` of the path. A body declared larger (Content-Length) is not read at all;
    one sent chunked is read until it goes past the limit, and the request is then given the
    Content-Length it had reached. Either way Django gets an empty body, the rest is skipped,
    and RequestSizeLimitMiddleware refuses the request by its Content-Length, with the API's
    JSON 413 and the request's id like any answer. WSGI servers need none of this: Django's
    WSGI request reads at most Content-Length, and no chunked body."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = max_body_bytes(scope["path"])
        declared = declared_length(scope)
        # Django builds its request from this dict once it has read the body.
        scope = dict(scope)
        refused = declared is not None and declared > limit
        received = 0
        ended = False

        async def receive_within_limit() -> Message:
            nonlocal received, refused, ended
            if refused:
                if not ended:
                    ended = True
                    return _END_OF_BODY
                # What is left of a refused body is skipped: once Django has a body, it
                # listens only for the client leaving.
                message = await receive()
                while message["type"] == "http.request":
                    message = await receive()
                return message
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    scope["headers"] = [
                        *(h for h in scope["headers"] if h[0] != b"content-length"),
                        (b"content-length", str(received).encode("ascii")),
                    ]
                    refused = ended = True
                    return _END_OF_BODY
            return message

        await self.app(scope, receive_within_limit, send)
