"""The benchmark's event source: a separate process publishing at a fixed rate for a while.

    python -m bench.publisher --stack gleepost|reference --target user|post --ids 1,2,3
        --rate 1000 --duration 5 --out sends.bin [--redis URL] [--base N] [--live-only]

``gleepost`` publishes through the project's real path: for ``user``, the video worker's
(``publish_to_streams_on_commit`` of the ``video-ready`` event built by ``realtime.events``,
recorded on the user's stream, sent after commit by ``realtime.publish.publisher``); for
``post``, the ``views`` event built by ``realtime.events`` through ``publish_on_commit`` to the
post's group.
Events due in the same 5 ms tick share one transaction, as a worker finishing a batch would.
With ``--live-only`` the user events' positioned copies are sent without being recorded (the
server's side of the fan-out alone; the streams' counters are moved on at the end, after the
clock, so that the next step goes on from there). ``reference`` PUBLISHes texts of the same
shape and size straight to Redis with redis-py, for ``bench/reference/server.py``.

Each event's send time (``time.monotonic_ns()`` just before its batch is handed over) is written
to ``--out`` as 24-byte records (kind, a, b, 0, t_ns), the load generator's format: kind 1 is a
user event (a = user id, b = seq), kind 2 a ``views`` event (a = post id, b = views).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RECORD = struct.Struct("<iiiiq")
TICK_SECS = 0.005
USER_EVENT, VIEWS_EVENT = 1, 2
# What a reference user event carries: the size and shape of a real video-ready event.
REFERENCE_USER_TEXT = (
    '{"type":"video-ready","location":"/videos/%d","data":{"id":%d,"status":"ready",'
    '"mp4":"","webm":"","thumbnails":[]},"seq":%d,"epoch":"bench000"}'
)
REFERENCE_VIEWS_TEXT = '{"type":"views","location":"/posts/%d","data":{"views":%d}}'

# Publishes one batch of (kind, a) targets; returns the (kind, a, b) of each event sent.
Publish = Callable[[list[int]], list[tuple[int, int, int]]]


def gleepost_publisher(
    target: str, ids: list[int], base: int, live_only: bool
) -> tuple[Publish, Callable[[], None]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gleepost.settings")
    import django

    django.setup()
    from django.db import transaction

    from realtime.events import video_ready_event, views_event
    from realtime.groups import post_group, user_group
    from realtime.history import current_position, with_position
    from realtime.models import UserStream
    from realtime.publish import (
        CHANNEL_MESSAGE_TYPE,
        publish_on_commit,
        publish_to_streams_on_commit,
        publisher,
    )
    from videos.models import Video

    # Start the publishing loop and its Redis connection before the clock starts.
    publish_on_commit(views_event(0, 0), ["bench.warmup"])
    publisher.flush()

    if target == "post":
        counter = [base]

        def publish_views(batch: list[int]) -> list[tuple[int, int, int]]:
            sent = []
            for post_id in batch:
                counter[0] += 1
                publish_on_commit(views_event(post_id, counter[0]), [post_group(post_id)])
                sent.append((VIEWS_EVENT, post_id, counter[0]))
            return sent

        return publish_views, publisher.flush

    videos = {v.owner_id: v for v in Video.objects.filter(owner_id__in=ids)}
    events = {user_id: video_ready_event(videos[user_id]) for user_id in ids}
    # This process is the only writer of these streams while it runs, so it knows each next seq.
    seqs = dict(UserStream.objects.filter(user_id__in=ids).values_list("user_id", "last_seq"))

    if live_only:
        # The positioned copies publish_to_streams_on_commit would send after commit, without
        # recording them: what the server's fan-out costs without the database write before it.
        # Positions go on from each stream's current one, so the consumers see no gap to fill.
        epochs = {user_id: current_position(user_id).epoch for user_id in ids}

        def publish_live(batch: list[int]) -> list[tuple[int, int, int]]:
            sent = []
            for user_id in batch:
                seq = seqs[user_id] = seqs.get(user_id, 0) + 1
                message = {
                    "type": CHANNEL_MESSAGE_TYPE,
                    "text": with_position(events[user_id].text, seq, epochs[user_id]),
                    "event_type": events[user_id].type,
                    "seq": seq,
                    "epoch": epochs[user_id],
                }
                publisher.send([user_group(user_id)], message, "a video-ready event")
                sent.append((USER_EVENT, user_id, seq))
            return sent

        def flush_then_move_counters() -> None:
            publisher.flush()
            streams = list(UserStream.objects.filter(user_id__in=seqs))
            for stream in streams:
                stream.last_seq = seqs[stream.user_id]
            UserStream.objects.bulk_update(streams, ["last_seq"], batch_size=500)

        return publish_live, flush_then_move_counters

    def publish_user_events(batch: list[int]) -> list[tuple[int, int, int]]:
        sent = []
        with transaction.atomic():
            for user_id in batch:
                publish_to_streams_on_commit(events[user_id], [user_id])
                seqs[user_id] = seqs.get(user_id, 0) + 1
                sent.append((USER_EVENT, user_id, seqs[user_id]))
        return sent

    return publish_user_events, publisher.flush


def reference_publisher(
    target: str, redis_url: str, base: int
) -> tuple[Publish, Callable[[], None]]:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.ping()  # connect before the clock starts
    counter = [base]

    def publish(batch: list[int]) -> list[tuple[int, int, int]]:
        pipeline = client.pipeline(transaction=False)
        sent = []
        for target_id in batch:
            counter[0] += 1
            if target == "post":
                text = REFERENCE_VIEWS_TEXT % (target_id, counter[0])
                pipeline.publish(f"post.{target_id}", text)
                sent.append((VIEWS_EVENT, target_id, counter[0]))
            else:
                text = REFERENCE_USER_TEXT % (target_id, target_id, counter[0])
                pipeline.publish(f"user.{target_id}", text)
                sent.append((USER_EVENT, target_id, counter[0]))
        pipeline.execute()
        return sent

    return publish, lambda: None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=["gleepost", "reference"], required=True)
    parser.add_argument("--target", choices=["user", "post"], required=True)
    parser.add_argument("--ids", required=True, help="comma-separated user or post ids")
    parser.add_argument("--rate", type=float, required=True, help="events per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds")
    parser.add_argument("--out", required=True)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--base", type=int, default=0, help="first views / reference seq - 1")
    parser.add_argument(
        "--live-only", action="store_true", help="gleepost user events: send, do not record"
    )
    args = parser.parse_args()

    ids = [int(i) for i in args.ids.split(",")]
    if args.stack == "gleepost":
        publish, flush = gleepost_publisher(args.target, ids, args.base, args.live_only)
    else:
        publish, flush = reference_publisher(args.target, args.redis, args.base)

    chooser = random.Random(len(ids))
    records = bytearray()
    sent = 0
    most_behind = 0.0
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < args.duration:
        due = int(args.rate * elapsed) - sent
        if due <= 0:
            time.sleep(TICK_SECS)
            continue
        most_behind = max(most_behind, due / args.rate)
        batch = [chooser.choice(ids) for _ in range(due)]
        sent_at = time.monotonic_ns()
        for kind, a, b in publish(batch):
            records += RECORD.pack(kind, a, b, 0, sent_at)
        sent += due
    publishing_secs = time.monotonic() - start
    flush()
    Path(args.out).write_bytes(records)
    summary = {
        "sent": sent,
        "rate": sent / publishing_secs,
        "most_behind_secs": round(most_behind, 4),
        "flush_secs": round(time.monotonic() - start - publishing_secs, 3),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
