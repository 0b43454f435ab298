"""``GET /metrics``: this process's Prometheus metrics in the text exposition format (README,
Metrics).

Each daphne process keeps its own counts and answers for itself alone; a scraper reaches every
process on its own port. Like the probes it needs no session or API token and is never
rate-limited, so that a scrape is never refused under load; it reveals traffic, not content, but
belongs on the operators' network: turn it off with ``METRICS_ENABLED``, or set
``METRICS_TOKEN`` and scrape with ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import hmac

from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from gleepost.conf import gp_settings
from gleepost.errors import not_found
from gleepost.views import ProbeView

# Registers the realtime metrics, so that a scrape before any connection or publish has them.
from realtime import metrics as _metrics  # noqa: F401


class MetricsView(ProbeView):
    # Not part of the API (its format is Prometheus's, not JSON): left out of the OpenAPI schema.
    schema = None

    def get(self, request: Request) -> HttpResponse:
        """The metrics; 404 when ``METRICS_ENABLED`` is off, 401 without the right bearer token
        when ``METRICS_TOKEN`` is set."""
        if not gp_settings.METRICS_ENABLED:
            raise not_found()
        token = str(gp_settings.METRICS_TOKEN)
        if token and not bearer_matches(request, token):
            return Response(
                {"error": "Invalid credentials"},
                status=status.HTTP_401_UNAUTHORIZED,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


def bearer_matches(request: Request, token: str) -> bool:
    """Whether the request's ``Authorization`` header is ``Bearer <token>``."""
    scheme, _, given = str(request.META.get("HTTP_AUTHORIZATION", "")).partition(" ")
    # In constant time: how much of a guess matched must not show in how long the answer took.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())
