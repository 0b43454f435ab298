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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


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

    import redis
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from realtime.events import views_event
    from realtime.publish import CHANNEL_MESSAGE_TYPE, publisher

    admin = redis.Redis.from_url(args.redis_url)

    def connections() -> int:
        return int(admin.info("stats")["total_connections_received"])

    layer = get_channel_layer()
    text = views_event(1, 42).text
    message = {"type": CHANNEL_MESSAGE_TYPE, "text": text}
    n = args.events

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

    print(f"events: {n} (one group each), layer {type(layer).__name__}, Redis {args.redis_url}")
    print(f"{'path':<44} {'us/event':>10} {'Redis connections':>18}")
    print(
        f"{'async_to_sync(group_send) per event':<44} "
        f"{naive_secs / n * 1e6:>10.1f} {naive_connections:>18}"
    )
    print(f"{'publisher.publish (caller blocked)':<44} {call_secs / n * 1e6:>10.1f} {'':>18}")
    print(
        f"{'publisher.publish until all sent to Redis':<44} "
        f"{total_secs / n * 1e6:>10.1f} {ours_connections:>18}"
    )
    print(f"speed-up until sent: {naive_secs / total_secs:.1f}x")


if __name__ == "__main__":
    main()
