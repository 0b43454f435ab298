"""``GET /healthz`` and ``GET /readyz``, for load balancers and orchestrators (README, Health
checks).

Neither authenticates nor is rate-limited: a probe carries no credentials, and a probe refused
would take the process out of rotation. They reveal nothing sensitive (statuses, latencies,
exception class names), but ``readyz`` does a database query and a Redis connect per call:
expose them to the load balancer, not to the internet.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from gleepost import health
from gleepost.api import ApiView


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


class HealthzView(ProbeView):
    def get(self, request: Request) -> Response:
        """The process is up and answering HTTP; touches neither the database nor Redis."""
        return Response({"status": "ok"})


class ReadyzView(ProbeView):
    def get(self, request: Request) -> Response:
        """200 when the database and Redis (if configured) answer, 503 otherwise."""
        ready, checks = health.readiness()
        return Response(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status=status.HTTP_200_OK if ready else status.HTTP_503_SERVICE_UNAVAILABLE,
        )
