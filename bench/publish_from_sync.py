"""Cost of publishing events from synchronous code (the video worker, commands, the shell).

Compares, on the same Redis, the naive ``async_to_sync(channel_layer.group_send)`` per event
with the project's publisher (``realtime.publish.publisher``), and prints microseconds per event
and the Redis connections each opened (from Redis's ``total_connections_received``).

    .venv/bin/python bench/publish_from_sync.py [--events 2000] [--redis-url redis://...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(redis_url: str, events: int) -> dict[str, Any]:
    """Both paths, ``events`` events each, one group per event; needs ``django.setup()`` done
    with ``REDIS_URL`` set to ``redis_url``."""
    import redis
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from realtime.events import views_event
    from realtime.publish import CHANNEL_MESSAGE_TYPE, publisher

    admin = redis.Redis.from_url(redis_url)

    def connections() -> int:
        return int(admin.info("stats")["total_connections_received"])

    layer = get_channel_layer()
    text = views_event(1, 42).text
    message = {"type": CHANNEL_MESSAGE_TYPE, "text": text, "event_type": "views"}
    n = events

    before = connections()
    start = time.perf_counter()
    for i in range(n):
        async_to_sync(layer.group_send)(f"user.{i % 1000}", message)
    naive_secs = time.perf_counter() - start
    naive_connections = connections() - before

    publisher.publish(["user.0"], text, "views")  # start the loop and its connection
    publisher.flush()
    before = connections()
    start = time.perf_counter()
    for i in range(n):
        publisher.publish([f"user.{i % 1000}"], text, "views")
    call_secs = time.perf_counter() - start
    publisher.flush(timeout=120)
    total_secs = time.perf_counter() - start
    ours_connections = connections() - before
    admin.close()
    return {
        "events": n,
        "layer": type(layer).__name__,
        "naive_us_per_event": round(naive_secs / n * 1e6, 1),
        "naive_connections_per_1000": round(naive_connections * 1000 / n, 1),
        "caller_us_per_event": round(call_secs / n * 1e6, 1),
        "until_sent_us_per_event": round(total_secs / n * 1e6, 1),
        "connections_per_1000": round(ours_connections * 1000 / n, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    os.environ["REDIS_URL"] = args.redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")

    import django

    django.setup()
    result = measure(args.redis_url, args.events)
    print(
        f"events: {result['events']} (one group each), layer {result['layer']}, "
        f"Redis {args.redis_url}"
    )
    print(f"{'path':<44} {'us/event':>10} {'Redis connections/1000':>23}")
    print(
        f"{'async_to_sync(group_send) per event':<44} "
        f"{result['naive_us_per_event']:>10} {result['naive_connections_per_1000']:>23}"
    )
    print(f"{'publisher.publish (caller blocked)':<44} {result['caller_us_per_event']:>10}")
    print(
        f"{'publisher.publish until all sent to Redis':<44} "
        f"{result['until_sent_us_per_event']:>10} {result['connections_per_1000']:>23}"
    )


if __name__ == "__main__":
    main()
