"""Cost of the event history (outbox): sending messages with and without recording them.

Sends N messages into a conversation of P participants through the real action
(``conversations.actions.do_send_message``), once with the outbox (each event stored with a
per-user position in the same transaction, then published) and once with the previous path
(published to the users' groups after commit, nothing stored), and prints per-message latency
(p50/p99), throughput, and the latency from the start of the action to the event arriving
through the channel layer at a subscriber of the first participant.

    .venv/bin/python bench/outbox_publish.py [--messages 500] [--participants 10]
        [--database-url postgres://postgres@127.0.0.1:5432/gleepost_bench]
        [--redis-url redis://127.0.0.1:6379/0]

The database named by --database-url is dropped and re-created (default: a temporary SQLite
file).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    args = parser.parse_args()
    database_url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = args.redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")
    if database_url.startswith("postgres"):
        recreate_postgres(database_url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args.messages, args.participants)


def recreate_postgres(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def run(messages: int, participants: int) -> None:
    from accounts.models import User
    from conversations.actions import do_create_conversation, do_send_message
    from realtime import receivers
    from realtime.groups import user_group
    from realtime.publish import publish_on_commit, publisher

    users = [
        User.objects.create_user(f"bench{i}", f"bench{i}@example.com", "x" * 12)
        for i in range(participants)
    ]
    conversation, _ = do_create_conversation(users[0], [u.pk for u in users[1:]])
    watcher = Watcher(user_group(users[1].pk))

    def without_outbox(event: Any, user_ids: Any) -> None:
        publish_on_commit(event, [user_group(uid) for uid in user_ids])

    with_outbox = receivers.publish_to_streams_on_commit
    results = {}
    for label, path in (("without outbox", without_outbox), ("with outbox", with_outbox)):
        receivers.publish_to_streams_on_commit = path
        for _ in range(20):  # warm up
            do_send_message(conversation, users[0], "warm")
        publisher.flush()
        watcher.reset()
        latencies = []
        started_at: dict[str, float] = {}
        start = time.perf_counter()
        for i in range(messages):
            text = f"m{i}"
            began = time.perf_counter()
            started_at[text] = began
            do_send_message(conversation, users[0], text)
            latencies.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - start
        publisher.flush(timeout=60)
        deliveries = watcher.delivery_latencies(started_at, messages)
        results[label] = (latencies, elapsed, deliveries)
    receivers.publish_to_streams_on_commit = with_outbox

    print(
        f"{messages} messages into a conversation of {participants} participants; "
        f"database {os.environ['DATABASE_URL'].split('@')[-1]}; Redis {os.environ['REDIS_URL']}"
    )
    header = ("path", "action p50 ms", "action p99 ms", "messages/s", "delivered p50 ms", "p99 ms")
    print("{:<16} {:>14} {:>14} {:>11} {:>17} {:>8}".format(*header))
    for label, (latencies, elapsed, deliveries) in results.items():
        delivered_p50 = statistics.median(deliveries) * 1e3
        delivered_p99 = percentile(deliveries, 0.99) * 1e3
        print(
            f"{label:<16} {statistics.median(latencies) * 1e3:>14.2f} "
            f"{percentile(latencies, 0.99) * 1e3:>14.2f} {messages / elapsed:>11.0f} "
            f"{delivered_p50:>17.2f} {delivered_p99:>8.2f}"
        )
        if len(deliveries) != messages:
            print(f"  {label}: {messages - len(deliveries)} events did not arrive")
    before, after = results["without outbox"][1], results["with outbox"][1]
    print(f"throughput with outbox / without: {before / after:.2f}")


class Watcher:
    """A channel-layer subscriber to one user's group, on the publisher's own loop."""

    def __init__(self, group: str) -> None:
        from channels.layers import get_channel_layer

        from realtime.publish import publisher

        self.layer = get_channel_layer()
        self.loop = publisher.target_loop()
        self.arrivals: list[tuple[float, str]] = []
        self.channel = self._call(self._join(group))
        # Keep a reference: the loop holds its tasks only weakly.
        self.receiving = asyncio.run_coroutine_threadsafe(self._receive(), self.loop)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    async def _join(self, group: str) -> str:
        channel = await self.layer.new_channel()
        await self.layer.group_add(group, channel)
        return str(channel)

    async def _receive(self) -> None:
        import json

        while True:
            message = await self.layer.receive(self.channel)
            event = json.loads(message.get("text", "{}"))
            if event.get("type") == "message":
                self.arrivals.append((time.perf_counter(), event["data"]["text"]))

    def reset(self) -> None:
        time.sleep(0.5)
        self.arrivals.clear()

    def delivery_latencies(self, started_at: dict[str, float], expected: int) -> list[float]:
        deadline = time.monotonic() + 30
        while len(self.arrivals) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return [at - started_at[text] for at, text in self.arrivals if text in started_at]


if __name__ == "__main__":
    main()
