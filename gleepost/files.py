"""Files the service serves itself when ``GLEEPOST_SERVE_FILES`` is on: uploads, processed
videos and static files (production puts nginx in front for these, deploy/nginx)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.views import static


def serve(request: HttpRequest, path: str, document_root: Any) -> HttpResponseBase:
    """Django's ``static.serve``, with a file read a chunk at a time under ASGI.

    Django's ASGIHandler serves a response whose content is a synchronous iterator by reading
    all of it into a list first (``StreamingHttpResponse.__aiter__``): a 100 MB video would be
    held whole in memory per request. Given an asynchronous iterator, it sends each chunk as it
    comes (64 KiB: it sets a FileResponse's block size itself) and stops reading when the
    client leaves. WSGI servers stream the file themselves.
    """
    response = static.serve(request, path, document_root=document_root)
    if isinstance(response, FileResponse) and "wsgi.input" not in request.META:
        response.streaming_content = _read_in_turn(iter(cast(Iterable[bytes], response)))
    return response


async def _read_in_turn(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` read one at a time on a worker thread, never more than one ahead."""

    def read() -> bytes:
        return next(chunks, b"")

    read_on_a_thread = sync_to_async(read, thread_sensitive=False)
    while chunk := await read_on_a_thread():
        yield chunk
