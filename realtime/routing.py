"""Websocket URLs: ``/api/v1/ws`` (the API's ``ws`` endpoint) and ``/ws``."""

from django.urls import re_path

from realtime.consumers import EventConsumer

websocket_urlpatterns = [
    re_path(r"^api/v1/ws/?$", EventConsumer.as_asgi()),
    re_path(r"^ws/?$", EventConsumer.as_asgi()),
]
