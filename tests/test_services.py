"""The suite runs against the services the environment names; CI names PostgreSQL and Redis."""

from __future__ import annotations

import os

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection


@pytest.mark.needs_postgres
@pytest.mark.django_db
def test_database_is_postgresql_when_configured() -> None:
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        (version,) = cursor.fetchone()
    assert "PostgreSQL" in version


@pytest.mark.needs_redis
def test_channel_layer_is_redis_and_round_trips_a_message() -> None:
    assert (
        settings.CHANNEL_LAYERS["default"]["BACKEND"] == "realtime.layers.RedisPubSubChannelLayer"
    )
    layer = get_channel_layer()
    assert layer is not None

    async def round_trip() -> dict[str, object]:
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "test.ping", "value": os.getpid()})
        return await layer.receive(channel)

    message = async_to_sync(round_trip)()
    assert message == {"type": "test.ping", "value": os.getpid()}
