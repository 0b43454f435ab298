"""Layout (b) of the http-layouts scenario: this project's ASGI application with Django's own
ASGIHandler for HTTP in place of gleepost/handler.py; everything else as in gleepost.asgi.

    python -m gleepost.server ... bench.layouts.django_asgi:application

Only the ``http`` entry of the router differs from gleepost/asgi.py: the same daphne
extensions, the same websocket stack, the publisher bound to the server's loop.
"""

from django.core.asgi import get_asgi_application

from gleepost.asgi import application_with

application = application_with(get_asgi_application())
