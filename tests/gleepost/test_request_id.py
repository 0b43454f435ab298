"""Every response names its request in X-Request-ID, and the request's log records carry it."""

from __future__ import annotations

import logging
import re

import pytest
from rest_framework.test import APIClient

from gleepost import log_context
from gleepost.logs import ContextFilter
from tests.conftest import Member

pytestmark = pytest.mark.django_db


def test_a_sane_incoming_id_is_echoed(alice: Member) -> None:
    response = alice.client.get(f"/api/v1/user/{alice.id}", HTTP_X_REQUEST_ID="lb-7f3a.42")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "lb-7f3a.42"


def test_an_insane_incoming_id_is_replaced(alice: Member) -> None:
    response = alice.client.get(f"/api/v1/user/{alice.id}", HTTP_X_REQUEST_ID="two words")
    assert re.fullmatch(r"[0-9a-f]{16}", response["X-Request-ID"])


def test_refusals_carry_an_id_too(anon: APIClient) -> None:
    first = anon.get("/api/v1/conversations")
    second = anon.get("/api/v1/conversations")
    assert first.status_code == second.status_code == 401
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_requests_log_records_carry_its_id(
    anon: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(ContextFilter())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        anon.get("/api/v1/conversations", HTTP_X_REQUEST_ID="req-401")
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Unauthorized: /api/v1/conversations"
    assert record.request_id == "req-401"  # type: ignore[attr-defined]
    assert log_context.request_id.get() is None  # unbound once the request is done
