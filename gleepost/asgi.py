"""ASGI entry point, served by daphne: HTTP to Django, websockets to the realtime consumer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")

# Django must be set up before anything imports models.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from realtime.asgi import BindPublisherToServerLoop, websocket_application  # noqa: E402

application = BindPublisherToServerLoop(
    ProtocolTypeRouter({"http": django_application, "websocket": websocket_application()})
)
