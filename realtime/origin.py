"""Which origins may open a websocket with a session cookie: those Django's CSRF check accepts.

A browser sends its session cookie to any site's websocket (cross-site websocket hijacking), so
a handshake authenticated by the session is accepted only from an origin that
CsrfViewMiddleware would accept a form from: this site itself — the same scheme, host and port —
or an entry of CSRF_TRUSTED_ORIGINS, exact or ``https://*.example.com`` for the subdomains.
``https://host`` is not ``http://host``: a page served over plain HTTP (readable and writable by
anyone on the network) does not speak for the HTTPS site, nor the reverse.

The handshake is read as Django reads an HTTP request (gleepost.extensions.django): the host as
``get_host()`` gives it (Host, or X-Forwarded-Host with USE_X_FORWARDED_HOST, checked against
ALLOWED_HOSTS) and the scheme as ``HttpRequest.scheme`` does — SECURE_PROXY_SSL_HEADER's header
when that is set and the header sent (behind a TLS proxy: deploy/nginx/gleepost.conf), the
connection's own otherwise (``wss`` is secure). daphne's websocket scope names no scheme, so a
daphne serving TLS itself counts as plain HTTP here: run it behind a proxy that sends the header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.utils.http import is_same_domain

from gleepost.extensions.django import handshake_request

# What Sec-Fetch-Site says of a request a page of another site made (Fetch Metadata).
_FOREIGN_SITES = frozenset({b"cross-site", b"same-site"})


def session_may_authenticate(scope: dict[str, Any]) -> bool:
    """Whether the session cookie of a handshake may count, by where the request came from.

    A websocket handshake always carries Origin: it counts when ``origin_allowed``. So does an
    HTTP event stream (SSE, long-poll) with an Origin. But a browser sends none on a GET to
    its own site (an EventSource of the page's own origin), and sends one on every
    cross-origin EventSource or fetch: without Origin, the request counts unless Fetch
    Metadata says another site made it (a cross-site ``<script src>``, which sends no Origin).
    """
    headers = dict(scope.get("headers", ()))
    if scope.get("type") == "websocket" or b"origin" in headers:
        return origin_allowed(scope)
    return headers.get(b"sec-fetch-site") not in _FOREIGN_SITES


def origin_allowed(scope: dict[str, Any]) -> bool:
    """True when the handshake's Origin is this site (scheme, host and port) or a trusted one."""
    request = handshake_request(scope)
    origin = request.META.get("HTTP_ORIGIN")
    if not origin:
        return False
    try:
        own_origin = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"
    except DisallowedHost:
        own_origin = None
    return origin == own_origin or trusted(origin)


def trusted(origin: str) -> bool:
    """True when ``origin`` is listed in CSRF_TRUSTED_ORIGINS, or is a subdomain of a wildcard
    entry of the same scheme (as CsrfViewMiddleware reads the setting)."""
    entries = settings.CSRF_TRUSTED_ORIGINS
    if origin in (entry for entry in entries if "*" not in entry):
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parsed.netloc, wildcard.netloc.lstrip("*"))
        for wildcard in (urlsplit(entry) for entry in entries if "*" in entry)
        if wildcard.scheme == parsed.scheme
    )
