"""ASGI entry point, served by daphne: HTTP to Django (but the realtime HTTP transports),
websockets to the realtime consumer."""

import os

import django

from gleepost.extensions import daphne

# However daphne was started (its own console script too), its access log redacts credentials:
# daphne creates the log after importing this module. Its requests, built after that too, leave
# their bodies to Django.
daphne.install()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")

# Django must be set up before anything imports models.
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from gleepost.middleware import RequestBodyLimit  # noqa: E402
from realtime.asgi import (  # noqa: E402
    BindPublisherToServerLoop,
    http_application,
    websocket_application,
)


def django_application() -> RequestBodyLimit:
    """HTTP as Django answers it under ASGI: its own ASGIHandler, behind the bound on what
    it reads of a request's body."""
    return RequestBodyLimit(get_asgi_application())


application = BindPublisherToServerLoop(
    ProtocolTypeRouter(
        {
            # The realtime HTTP transports (SSE, long-poll) first; every other path is Django's.
            "http": http_application(django_application()),
            "websocket": websocket_application(),
        }
    )
)
