"""Errors as the API promises them: ``{"error": "<reason>"}`` with the documented status code."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from gleepost.exceptions import DomainError


class ApiError(exceptions.APIException):
    """An error with a status code and a human-readable reason."""

    def __init__(self, reason: str, status_code: int = status.HTTP_400_BAD_REQUEST) -> None:
        super().__init__(detail=reason)
        self.status_code = status_code


def bad_request(reason: str) -> ApiError:
    return ApiError(reason, status.HTTP_400_BAD_REQUEST)


def not_found(reason: str = "Not found") -> ApiError:
    return ApiError(reason, status.HTTP_404_NOT_FOUND)


def forbidden(reason: str) -> ApiError:
    return ApiError(reason, status.HTTP_403_FORBIDDEN)


def too_large(reason: str) -> ApiError:
    return ApiError(reason, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


class RateLimited(ApiError):
    """429 with ``Retry-After``: DRF's handler sends the header for any exception with ``wait``."""

    def __init__(self, wait_secs: int) -> None:
        super().__init__(
            f"Too many attempts; try again in {wait_secs} seconds",
            status.HTTP_429_TOO_MANY_REQUESTS,
        )
        self.wait = wait_secs


def _reason(detail: Any) -> str:
    """Flatten DRF's nested error details into one readable line."""
    if isinstance(detail, dict):
        parts = []
        for field, value in detail.items():
            text = _reason(value)
            parts.append(text if field == "non_field_errors" else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_reason(item) for item in detail)
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler that renders every API error as ``{"error": ...}``."""
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # The API always answers missing or bad credentials with 401, whichever authenticator
        # ran first; DRF would turn some of them into 403.
        return Response({"error": "Invalid credentials"}, status=status.HTTP_401_UNAUTHORIZED)
    if isinstance(exc, DomainError):
        return Response({"error": exc.reason}, status=exc.status_code)
    if isinstance(exc, Http404 | exceptions.NotFound):
        return Response({"error": "Not found"}, status=404)
    if isinstance(exc, exceptions.ParseError):
        return Response({"error": f"Malformed request body: {exc.detail}"}, status=400)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        # The API's statuses are the spec's (no 415): a body it cannot read is bad input.
        return Response({"error": _unsupported_media_type(context)}, status=400)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    response.data = {"error": _reason(detail)}
    return response


def _unsupported_media_type(context: dict[str, Any]) -> str:
    media_type = str(getattr(context.get("request"), "content_type", "") or "")[:100]
    sent = f"Content-Type {media_type!r}" if media_type else "a body without a Content-Type"
    view = context.get("view")
    accepted = [parser.media_type for parser in view.get_parsers()] if view is not None else []
    return f"Unsupported media type: {sent}; send {' or '.join(accepted) or 'no body'}"


def _json_error(status_code: int, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status_code)


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(404, "Not found")


def handler500(request: HttpRequest) -> JsonResponse:
    return _json_error(500, "Internal server error")


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(400, "Bad request")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _json_error(403, "Forbidden")
