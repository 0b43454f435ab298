"""Which Redis servers the channel layer uses: REDIS_URL, several URLs (sharded), or Sentinel.

Only the channel layer spreads over several servers or follows Sentinel: channels-redis's pub/sub
layer hashes each channel and group name to one of its ``hosts`` (the same name always to the
same host), and builds a Sentinel connection pool for a host given as ``sentinels`` and
``master_name``. The cache, the connection counts and the view-count windows keep one address,
REDIS_URL (docs/deploy.md, "More machines").

- ``REDIS_CHANNEL_URLS``: comma-separated ``redis://``, ``rediss://`` or ``unix://`` URLs, one
  shard each, in the same order on every process. Default: REDIS_URL alone.
- ``REDIS_SENTINELS``: comma-separated ``host:port`` of the Sentinels (port 26379 if left out),
  with ``REDIS_SENTINEL_MASTER``: the name of the master they monitor, or several names, one
  shard each. Instead of REDIS_CHANNEL_URLS, not with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

DEFAULT_SENTINEL_PORT = 26379
# A Sentinel that does not answer within this long is skipped for the next one.
SENTINEL_TIMEOUT_SECS = 0.5
URL_SCHEMES = ("redis", "rediss", "unix")

ChannelHost = str | dict[str, Any]


def _split(environ: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in environ.get(name, "").split(",") if item.strip()]


def channel_layer_hosts(environ: Mapping[str, str]) -> list[ChannelHost]:
    """The channel layer's ``hosts`` from the environment; empty without REDIS_URL."""
    urls = _split(environ, "REDIS_CHANNEL_URLS")
    sentinels = _split(environ, "REDIS_SENTINELS")
    masters = _split(environ, "REDIS_SENTINEL_MASTER")
    redis_url = environ.get("REDIS_URL", "")
    if not redis_url:
        if urls or sentinels or masters:
            # Without REDIS_URL the cache and counters would live in each process alone.
            raise ImproperlyConfigured(
                "REDIS_CHANNEL_URLS and REDIS_SENTINELS need REDIS_URL: the cache, connection "
                "counts and view counts are shared through it"
            )
        return []
    if urls and (sentinels or masters):
        raise ImproperlyConfigured(
            "set REDIS_CHANNEL_URLS or REDIS_SENTINELS and REDIS_SENTINEL_MASTER, not both"
        )
    if sentinels or masters:
        return _sentinel_hosts(sentinels, masters)
    for position, url in enumerate(urls, start=1):
        if urlsplit(url).scheme not in URL_SCHEMES:
            # Not the URL itself: it may carry a password.
            raise ImproperlyConfigured(
                f"REDIS_CHANNEL_URLS: entry {position} is not a redis://, rediss:// or unix:// URL"
            )
    return list(urls) or [redis_url]


def _sentinel_hosts(sentinels: list[str], masters: list[str]) -> list[ChannelHost]:
    if not sentinels or not masters:
        raise ImproperlyConfigured("REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together")
    addresses = [_sentinel_address(entry) for entry in sentinels]
    return [
        {
            "sentinels": addresses,
            "master_name": master,
            "sentinel_kwargs": {
                "socket_connect_timeout": SENTINEL_TIMEOUT_SECS,
                "socket_timeout": SENTINEL_TIMEOUT_SECS,
            },
        }
        for master in masters
    ]


def _sentinel_address(entry: str) -> tuple[str, int]:
    host, colon, port = entry.rpartition(":")
    if not colon or "]" in port:  # no port: "sentinel-1", "[::1]"
        host, port = entry, str(DEFAULT_SENTINEL_PORT)
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ImproperlyConfigured(f"REDIS_SENTINELS: {entry!r} is not host or host:port")
    return host, int(port)
