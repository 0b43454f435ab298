"""URLs of the realtime layer: the websocket at ``/api/v1/ws`` (the API's ``ws`` endpoint) and
``/ws``; over HTTP, Server-Sent Events at ``/api/v1/events`` and the long-poll at
``/api/v1/longpoll`` (and ``/longpoll``, the original service's path)."""

from django.urls import re_path

from realtime.consumers import EventConsumer, EventStreamConsumer, LongPollConsumer

websocket_urlpatterns = [
    re_path(r"^api/v1/ws/?$", EventConsumer.as_asgi()),
    re_path(r"^ws/?$", EventConsumer.as_asgi()),
]

# Every other HTTP path is Django's (gleepost.asgi).
http_stream_urlpatterns = [
    re_path(r"^api/v1/events/?$", EventStreamConsumer.as_asgi()),
    re_path(r"^(api/v1/)?longpoll/?$", LongPollConsumer.as_asgi()),
]
