"""ASGI entry point, served by daphne: HTTP to Django, websockets to the realtime consumer."""

import os

import django

from gleepost.extensions import daphne_access, daphne_body

# However daphne was started (its own console script too), its access log redacts credentials:
# daphne creates the log after importing this module. Its requests, built after that too, leave
# their bodies to Django.
daphne_access.install()
daphne_body.install()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")

# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from typing import Any  # noqa: E402

from channels.routing import ProtocolTypeRouter  # noqa: E402

from gleepost.handler import DjangoHttp  # noqa: E402
from realtime.asgi import BindPublisherToServerLoop, websocket_application  # noqa: E402


def application_with(http: Any) -> BindPublisherToServerLoop:
    """The service's application with ``http`` answering HTTP (the benchmark compares
    handlers this way, bench/layouts)."""
    return BindPublisherToServerLoop(
        ProtocolTypeRouter({"http": http, "websocket": websocket_application()})
    )


application = application_with(DjangoHttp())
