"""The readiness checks behind ``GET /readyz`` (README, Health checks): can this process reach
the database and, when ``REDIS_URL`` is set, Redis — and each of the channel layer's shards or
Sentinel masters when it spreads over several (gleepost/redis_hosts.py)?

Each check answers within a bounded time and never raises. A failure is reported by the
exception's class name only: messages can carry host names, users or URLs, and the endpoint has
no authentication. The full message goes to the log, for the operator.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
import redis.sentinel
from django.conf import settings
from django.db import connection
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

# A hung Redis costs a probe at most this long to connect and this long again to answer PING:
# the same bound as the cache's (settings.CACHES), well inside a probe's usual 1-second timeout.
REDIS_TIMEOUT_SECS = 0.5

Check = dict[str, Any]


def check_database() -> Check:
    """``SELECT 1`` on this thread's connection, the one a request would use.

    No timeout of its own: connecting is bounded by the driver's connect timeout (for PostgreSQL
    ``?connect_timeout=<secs>`` in ``DATABASE_URL``, which libpq otherwise leaves unbounded), and
    ``SELECT 1`` takes no lock that could make it wait.
    """

    def select_one() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _timed("database", select_one)


def check_redis(url: str, name: str = "redis") -> Check:
    """``PING`` over a new connection to ``url``, with connect and read timeouts and no retry."""

    # A short-lived client rather than a module-level one: a probe every few seconds costs one
    # local TCP connect, and in exchange no socket or pool is shared between daphne's request
    # threads or outlives the check, the URL is read afresh each time, and the check sees what
    # the channel layer meets when it reconnects, not a pooled socket opened before an outage.
    def ping() -> None:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=REDIS_TIMEOUT_SECS,
            socket_timeout=REDIS_TIMEOUT_SECS,
            # redis-py retries a failed command 10 times with backoff by default: seconds, not
            # the half second a probe can wait.
            retry=Retry(NoBackoff(), 0),
        )
        try:
            client.ping()
        finally:
            client.close()

    return _timed(name, ping)


def check_sentinel_master(host: dict[str, Any], name: str) -> Check:
    """``PING`` to the master that the Sentinels of ``host`` (a channel-layer host from
    gleepost/redis_hosts.py) name now: each Sentinel gets 0.5 s, then the master does."""

    def ping() -> None:
        sentinel = redis.sentinel.Sentinel(
            host["sentinels"],
            sentinel_kwargs=host.get("sentinel_kwargs"),
            socket_connect_timeout=REDIS_TIMEOUT_SECS,
            socket_timeout=REDIS_TIMEOUT_SECS,
            retry=Retry(NoBackoff(), 0),
        )
        master = sentinel.master_for(host["master_name"])
        try:
            master.ping()
        finally:
            master.close()
            for client in sentinel.sentinels:
                client.close()

    return _timed(name, ping)


def channel_layer_probes() -> dict[str, Callable[[], Check]]:
    """A check per channel-layer host, ``channel_layer_1``, ``_2``…, unless the layer uses
    REDIS_URL alone (the ``redis`` check covers it)."""
    layer: dict[str, Any] = settings.CHANNEL_LAYERS.get("default", {})
    hosts: list[str | dict[str, Any]] = layer.get("CONFIG", {}).get("hosts", [])
    if not settings.REDIS_URL or hosts == [settings.REDIS_URL]:
        return {}
    probes: dict[str, Callable[[], Check]] = {}
    for number, host in enumerate(hosts, start=1):
        name = f"channel_layer_{number}"
        if isinstance(host, str):
            probes[name] = functools.partial(check_redis, host, name)
        else:
            probes[name] = functools.partial(check_sentinel_master, host, name)
    return probes


def readiness() -> tuple[bool, dict[str, Check]]:
    """Whether every configured dependency answers, and each check's result.

    The Redis checks run side by side, so that several hung servers cost a probe the time of
    one; the database check runs on the calling thread, whose connection a request would use.
    """
    probes: dict[str, Callable[[], Check]] = {}
    if settings.REDIS_URL:
        probes["redis"] = functools.partial(check_redis, settings.REDIS_URL)
    probes.update(channel_layer_probes())
    with ThreadPoolExecutor(max(len(probes), 1), thread_name_prefix="readyz") as pool:
        running = {name: pool.submit(probe) for name, probe in probes.items()}
        checks = {"database": check_database()}
        checks.update({name: future.result() for name, future in running.items()})
    return all(check["ok"] for check in checks.values()), checks


def _timed(name: str, probe: Callable[[], None]) -> Check:
    started = time.perf_counter()
    try:
        probe()
    except Exception as error:
        latency_ms = _ms_since(started)
        logger.warning(
            "Readiness check %s failed after %s ms: %s: %s",
            name,
            latency_ms,
            type(error).__name__,
            error,
        )
        return {"ok": False, "latency_ms": latency_ms, "error": type(error).__name__}
    return {"ok": True, "latency_ms": _ms_since(started)}


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
