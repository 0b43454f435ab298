"""``GET /healthz`` and ``GET /readyz``, for load balancers and orchestrators (README, Health
checks); ``GET /api/v1/asyncapi.yaml``, the websocket protocol for client developers; and the
landing page at ``/`` with its ``/favicon.ico``, for people who open the service in a browser.

The probes neither authenticate nor are rate-limited: a probe carries no credentials, and a
probe refused would take the process out of rotation. They reveal nothing sensitive (statuses,
latencies, exception class names), but ``readyz`` does a database query and a Redis connect per
call: expose them to the load balancer, not to the internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from gleepost import health
from gleepost.api import ApiView

ASYNCAPI_PATH = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.yaml"
# 16 and 32 px PNG images in an ICO file: what every browser asks /favicon.ico for.
FAVICON = (Path(__file__).resolve().parent / "favicon.ico").read_bytes()


class ProbeView(ApiView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []
    http_method_names = ["get", "head"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before ApiView reads a write's body: a POST is 405 whatever it carries, never a 400.
        if str(request.method).lower() not in self.http_method_names:
            raise MethodNotAllowed(str(request.method))
        super().initial(request, *args, **kwargs)


class HealthzSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["ok"])


class CheckSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    latency_ms = serializers.FloatField()
    error = serializers.CharField(
        required=False, help_text="The exception's class name, when `ok` is false."
    )


class ReadyzSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["ready", "not ready"])
    checks = serializers.DictField(
        child=CheckSerializer(),
        help_text="`database`; `redis` when REDIS_URL is set; `channel_layer_1`, `_2`… for "
        "each shard or Sentinel master when the channel layer spreads over several.",
    )


class HealthzView(ProbeView):
    @extend_schema(summary="Liveness", responses=HealthzSerializer)
    def get(self, request: Request) -> Response:
        """The process is up and answering HTTP; touches neither the database nor Redis."""
        return Response({"status": "ok"})


class ReadyzView(ProbeView):
    @extend_schema(
        summary="Readiness",
        responses={200: ReadyzSerializer, 503: ReadyzSerializer},
    )
    def get(self, request: Request) -> Response:
        """200 when the database and Redis (if configured) answer, 503 otherwise."""
        ready, checks = health.readiness()
        return Response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
        )


@require_safe
def asyncapi_document(request: HttpRequest) -> FileResponse:
    """``docs/asyncapi.yaml`` as committed: the OpenAPI document's websocket counterpart."""
    return FileResponse(ASYNCAPI_PATH.open("rb"), content_type="application/yaml; charset=utf-8")


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """``/``: what the service is, and links to everything a person can open in a browser."""
    try:
        examples_url: str | None = reverse("examples-browser")
    except NoReverseMatch:  # GLEEPOST_SERVE_FILES off: nginx or a CDN serves the files
        examples_url = None
    return render(request, "gleepost/landing.html", {"examples_url": examples_url})


@require_safe
@cache_control(public=True, max_age=24 * 60 * 60)
def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers fetch for every page (a 404 logged a warning each time)."""
    return HttpResponse(FAVICON, content_type="image/vnd.microsoft.icon")
