"""Every HTTP response names its request: ``X-Request-ID``, the id its log lines carry.

The id is the client's (or a proxy's) ``X-Request-ID`` when that is a sane short token, a new
one otherwise (gleepost.log_context). Under gleepost.server it is chosen before the application
runs, so that daphne's access log line carries it too; elsewhere (runserver, the test client)
it is chosen here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from gleepost import log_context


class RequestIdMiddleware:
    """Binds the request's id for its log records and echoes it in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = log_context.request_id.get()
        if request_id is None:
            request_id = log_context.request_id_from(request.headers.get("X-Request-ID"))
        # On the request too: Django logs the response's status after this returns.
        request.request_id = request_id  # type: ignore[attr-defined]
        with log_context.ids_bound(request=request_id):
            response = self.get_response(request)
        response[log_context.REQUEST_ID_HEADER] = request_id
        return response
