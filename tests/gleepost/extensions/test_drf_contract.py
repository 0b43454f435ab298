"""What the project relies on in Django REST framework and drf-spectacular beyond their documented
API (docs/frameworks.md): each test fails naming the private name and our module."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from tests.gleepost.extensions.contracts import require


def test_drf_request_wraps_the_django_request() -> None:
    request = Request(APIRequestFactory().get("/"))
    require(
        request,
        "_request",
        used_by="accounts.views (session logout)",
        distribution="djangorestframework",
    )


def test_drf_spectacular_map_serializer() -> None:
    require(
        AutoSchema,
        "_map_serializer",
        used_by="accounts.openapi, conversations.openapi, notifications.openapi, videos.openapi",
        distribution="drf-spectacular",
    )
