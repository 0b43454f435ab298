"""WSGI entry point: REST from a WSGI server beside daphne, the production layout (deploy/,
docs/deploy.md): ``gunicorn -c deploy/gunicorn.conf.py``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")

WSGIApplication = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ForwardedFor:
    """The client's address from the proxy in front, as daphne's ``--proxy-headers`` takes it:
    REMOTE_ADDR becomes the first address of X-Forwarded-For, which nginx sets to the address
    it saw (deploy/nginx replaces the list rather than appending to it, so a client cannot
    choose its own). The per-IP rate limits count that address; without it every client would
    share nginx's. Only behind such a proxy: a client that reaches the server directly could
    name any address (``GLEEPOST_PROXY_HEADERS``, off by default)."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        forwarded = str(environ.get("HTTP_X_FORWARDED_FOR", "")).split(",")[0].strip()
        if forwarded:
            environ["REMOTE_ADDR"] = forwarded
        return self.app(environ, start_response)


def wsgi_application() -> WSGIApplication:
    django_application = get_wsgi_application()
    from gleepost.conf import gp_settings  # settings are read once Django is set up

    if gp_settings.PROXY_HEADERS:
        return ForwardedFor(django_application)
    return django_application


application = wsgi_application()
