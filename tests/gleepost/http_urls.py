"""Views for tests/gleepost/test_http.py: what HTTP must carry each way, as the URLconf Django
resolves against, with the project's error handlers and its file view."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from gleepost import files, log_context
from gleepost.urls import handler404, handler500

__all__ = ["handler404", "handler500", "urlpatterns"]

# What the views saw, for the tests to read: thread ids, streams closed, views run.
seen: dict[str, list[object]] = {"threads": [], "closed": [], "ran": []}
# Set by a test to let the slow view return.
release_slow = threading.Event()
# The folder the file view serves, set by a test.
served_folder: dict[str, Path] = {}


def _note(view: str) -> None:
    seen["ran"].append(view)
    seen["threads"].append(threading.get_ident())


@csrf_exempt
def echo(request: HttpRequest) -> JsonResponse:
    _note("echo")
    body = request.body
    return JsonResponse(
        {
            "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "remote_addr": request.META.get("REMOTE_ADDR"),
            "secure": request.is_secure(),
            "query": request.GET.get("q"),
            "agent": request.headers.get("User-Agent"),
            "request_id": log_context.request_id.get(),
        }
    )


def boom(request: HttpRequest) -> HttpResponse:
    _note("boom")
    raise RuntimeError("the view failed")


def cookie(request: HttpRequest) -> HttpResponse:
    _note("cookie")
    response = HttpResponse("with a cookie", content_type="text/plain; charset=utf-8")
    response.set_cookie("flavour", "oat", httponly=True)
    response["X-Served-By"] = "handler-test"
    return response


async def _parts(count: int, name: str) -> AsyncIterator[bytes]:
    try:
        for index in range(count):
            # As a stream that waits for what it sends (events, a file's chunks): daphne's send
            # does not suspend, so a generator that never awaits would never let the loop see
            # the client leave.
            await asyncio.sleep(0)
            yield f"part {index};".encode()
    finally:
        seen["closed"].append(name)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    _note("stream")
    return StreamingHttpResponse(_parts(3, "stream"), content_type="text/plain")


def endless(request: HttpRequest) -> StreamingHttpResponse:
    _note("endless")
    return StreamingHttpResponse(_parts(10**9, "endless"), content_type="text/plain")


def file(request: HttpRequest, name: str) -> StreamingHttpResponse:
    _note("file")
    return files.serve(request, name, document_root=served_folder["root"])  # type: ignore[return-value]


def slow(request: HttpRequest) -> HttpResponse:
    _note("slow")
    release_slow.wait(timeout=10)
    return HttpResponse("slow done")


urlpatterns = [
    path("echo", echo),
    path("boom", boom),
    path("cookie", cookie),
    path("stream", stream),
    path("endless", endless),
    path("files/<str:name>", file),
    path("slow", slow),
]
