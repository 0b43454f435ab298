"""ASGI entry point, served by daphne: HTTP goes to Django."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")

application = get_asgi_application()
