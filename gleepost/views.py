"""``GET /healthz`` and ``GET /readyz``, for load balancers and orchestrators (README, Health
checks), and ``GET /api/v1/asyncapi.yaml``, the websocket protocol for client developers.

Neither authenticates nor is rate-limited: a probe carries no credentials, and a probe refused
would take the process out of rotation. They reveal nothing sensitive (statuses, latencies,
exception class names), but ``readyz`` does a database query and a Redis connect per call:
expose them to the load balancer, not to the internet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import FileResponse, HttpRequest
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
