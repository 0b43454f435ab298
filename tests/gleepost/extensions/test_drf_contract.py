"""What the project relies on in Django REST framework and drf-spectacular beyond their documented
API (docs/frameworks.md): each test fails naming the private name and our module."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema

from tests.gleepost.extensions.contracts import require


def test_drf_spectacular_map_serializer() -> None:
    require(
        AutoSchema,
        "_map_serializer",
        used_by="accounts.openapi, conversations.openapi, notifications.openapi, videos.openapi",
        distribution="drf-spectacular",
    )
