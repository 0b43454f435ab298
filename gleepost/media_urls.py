"""The URLs clients fetch stored files at (a ready video's mp4, webm and thumbnail): absolute.

Clients of the original service take them as given (its ``video-ready`` carried
``https://…/….mp4``). The REST answer and the event carry the same URL, and the event is often
built with no request at hand (the video worker), so the address comes from the setting
``PUBLIC_URL``, never from a request's ``Host``. A ``MEDIA_URL`` that is absolute already (a
CDN) is used as it is; with ``PUBLIC_URL`` empty the URLs stay the paths Django's storage makes.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from gleepost.conf import gp_settings

PUBLIC_URL_SCHEMES = ("http", "https")


def checked_public_url(configured: str) -> str:
    """The setting ``PUBLIC_URL`` without a trailing slash ("" when unset); a value that is not
    ``http(s)://host`` (and a port) stops the process with the reason."""
    value = _base(configured)
    if not value:
        return ""
    problem = _public_url_problem(value)
    if problem is not None:
        # Not the value itself: a mistaken one may carry a password.
        raise ImproperlyConfigured(
            f"GLEEPOST_PUBLIC_URL {problem}: it is the address clients reach the service at, "
            "such as https://gleepost.example.com"
        )
    return value


def _base(public_url: str) -> str:
    """``public_url`` as URLs are joined to it: no surrounding blanks, no trailing slash (also
    for a value set in ``settings.GLEEPOST`` directly, which ``checked_public_url`` never saw)."""
    return public_url.strip().rstrip("/")


def _public_url_problem(value: str) -> str | None:
    if any(character.isspace() for character in value):
        return "is not a URL (it holds a space)"
    try:
        parts = urlsplit(value)
        port = parts.port  # raises on one that is not a number from 0 to 65535
    except ValueError:
        return "is not a URL (or its port is not a number up to 65535)"
    if parts.scheme not in PUBLIC_URL_SCHEMES:
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if port == 0:
        return "has port 0"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.path or parts.query or parts.fragment:
        return "must be a scheme and a host (and a port) only: no path, query or fragment"
    return None


def absolute_media_url(url: str) -> str:
    """``url``, a stored file's as its storage gives it (``MEDIA_URL`` and the file's name),
    on ``PUBLIC_URL``; as it is when it is absolute already or ``PUBLIC_URL`` is empty."""
    public = _base(gp_settings.PUBLIC_URL)
    parts = urlsplit(url)
    if not public or parts.scheme or parts.netloc:
        return url
    return f"{public}/{url.lstrip('/')}"
