"""WSGI entry point, for serving the REST API from a WSGI server beside daphne."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")

application = get_wsgi_application()
