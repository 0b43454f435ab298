"""``GET /metrics``: Prometheus's text format, the on/off setting, the bearer token, and the
exemption from the SSL redirect."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from realtime import metrics

TOKEN = "scrape-secret-1"


@pytest.fixture
def client() -> Client:
    return Client()


def families(body: bytes) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(body.decode())}


def test_metrics_are_prometheus_text_without_database_or_credentials(client: Client) -> None:
    # No django_db mark: pytest-django fails the test if a scrape touches the database.
    metrics.count_error("publish")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = families(response.content)
    for name in (
        "gleepost_websocket_connections_open",
        "gleepost_websocket_connections_opened",
        "gleepost_websocket_connections_closed",
        "gleepost_events_published",
        "gleepost_events_delivered",
        "gleepost_publish_latency_seconds",
        "gleepost_subscriptions",
        "gleepost_errors",
    ):
        assert name in found, name
    errors = {s.labels["kind"]: s.value for s in found["gleepost_errors"].samples}
    assert errors["publish"] >= 1
    # Every kind is exported before its first failure, at 0 until then.
    assert set(errors) >= {"frame", "invalid_credentials", "publish_dropped", "direct_delivery"}


def test_metrics_answer_head_and_refuse_post(client: Client) -> None:
    assert client.head("/metrics").status_code == 200
    response = client.post("/metrics", data="{not json", content_type="application/json")
    assert response.status_code == 405
    assert response.json() == {"error": 'Method "POST" not allowed.'}


def test_metrics_turned_off_are_not_found(client: Client, settings: Any) -> None:
    settings.GLEEPOST = {"METRICS_ENABLED": "0"}
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", f"Bearer  {TOKEN}"],
)
def test_metrics_with_a_token_refuse_any_other_credentials(
    client: Client, settings: Any, authorization: str | None
) -> None:
    settings.GLEEPOST = {"METRICS_TOKEN": TOKEN}
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid credentials"}
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"gleepost_" not in response.content


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_metrics_with_a_token_answer_the_bearer(client: Client, settings: Any, scheme: str) -> None:
    settings.GLEEPOST = {"METRICS_TOKEN": TOKEN}
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"{scheme} {TOKEN}")
    assert response.status_code == 200
    assert "gleepost_events_delivered" in families(response.content)


def test_metrics_are_exempt_from_the_ssl_redirect(client: Client, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics/").status_code == 200
    # What is not exempt is still redirected: the exemption is this path's alone.
    assert client.get("/metrics-x").status_code == 301
