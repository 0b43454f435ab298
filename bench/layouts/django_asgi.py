"""Layout (b) of the http-layouts scenario: this project's ASGI application with Django's own
ASGIHandler for HTTP in place of gleepost/handler.py; everything else as in gleepost.asgi.

    python -m gleepost.server ... bench.layouts.django_asgi:application

Only the ``http`` entry of the router differs from gleepost/asgi.py: the same daphne
extensions, the same websocket stack, the publisher bound to the server's loop.
"""

import os

import django

from gleepost.extensions import daphne_access, daphne_body

daphne_access.install()
daphne_body.install()

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from realtime.asgi import BindPublisherToServerLoop, websocket_application  # noqa: E402

application = BindPublisherToServerLoop(
    ProtocolTypeRouter({"http": get_asgi_application(), "websocket": websocket_application()})
)
