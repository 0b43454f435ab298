"""What an idle websocket connection holds in daphne's memory, and where it was allocated.

    .venv/bin/python bench/memory.py [--counts 1000,2000] [--frames 25] [--no-trace]

Starts Redis on a spare port, a temporary SQLite database with enough users, and daphne as
``gleepost.server`` runs it under ``bench.memprobe`` (tracemalloc on, ``--frames`` deep). With
one connection open it takes a first reading; then it opens idle authenticated connections of
distinct users up to each count in turn (the Node load generator, as the idle scenario does),
taking a reading at each. Between the last two it prints, per connection: the RSS, the
allocations still live grouped by traceback, and the collector's objects by type. Tracing
itself costs memory and time: the RSS column is only meaningful with ``--no-trace``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.processes import LoadGenerator, Process, start_daphne, start_redis
from bench.run import OTHER_CORES, SERVER_CORES, gleepost_env

SETTLE_SECS = 3.0
# Frames of asyncio, Twisted and the import system say little about who asked for the memory.
_NOISE = ("asyncio/", "importlib", "<frozen", "twisted/", "tracemalloc")


def _read(server: Process, out: Path, number: int) -> dict[str, Any]:
    """Signal the probe, wait for its dump number ``number``, return what it wrote."""
    time.sleep(SETTLE_SECS)
    rss = server.rss_kib()
    os.kill(server.pid, signal.SIGUSR1)
    done = out / f"{number}.done"
    deadline = time.monotonic() + 600
    while not done.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the probe wrote nothing")
        time.sleep(0.5)
    snapshot_path = out / f"{number}.snapshot"
    return {
        "rss_kib": rss,
        "types": json.loads((out / f"{number}.types.json").read_text()),
        "snapshot": tracemalloc.Snapshot.load(str(snapshot_path))
        if snapshot_path.exists()
        else None,
    }


def _where(traceback: tracemalloc.Traceback, depth: int = 4) -> str:
    """The allocating frame, then its callers outside asyncio and Twisted (innermost first)."""
    newest_first = list(reversed(traceback))
    callers = [f for f in newest_first[1:] if not any(n in f.filename for n in _NOISE)]
    shown = []
    for frame in [newest_first[0], *callers][:depth]:
        name = frame.filename.split("site-packages/")[-1].replace(str(sys.prefix), "")
        shown.append(f"{name.split('/work/main/')[-1]}:{frame.lineno}")
    return " < ".join(shown)


# Who holds an allocation: the part named by the innermost frame outside asyncio and Twisted's
# internals that matches one of these (first match in the traceback, innermost first).
PARTS = (
    (
        "channel layer (channels-redis, gleepost/extensions/channels_redis.py)",
        ("channels_redis/", "gleepost/extensions/channels_redis"),
    ),
    ("frame rate limits (realtime/throttling.py)", ("realtime/throttling",)),
    ("connection slot + heartbeat", ("realtime/connection_limits",)),
    ("message loop (realtime/dispatch.py)", ("realtime/dispatch",)),
    (
        "consumer (realtime/consumers.py, consumer/, auth.py)",
        ("realtime/consumers", "realtime/consumer/", "realtime/auth"),
    ),
    ("ASGI stack (middleware, router)", ("realtime/asgi", "channels/")),
    ("Django (User, session, ORM)", ("django/",)),
    ("redis-py", ("redis/",)),
    ("daphne, autobahn, Twisted", ("daphne/", "autobahn/", "twisted/", "txaio/")),
)


def part_of(traceback: tracemalloc.Traceback) -> str:
    for frame in reversed(traceback):
        for name, markers in PARTS:
            if any(marker in frame.filename for marker in markers):
                return name
    return "other (logging, linecache, ...)"


def report(before: dict[str, Any], after: dict[str, Any], added: int, top: int) -> None:
    print(f"RSS: {(after['rss_kib'] - before['rss_kib']) / added:.1f} KiB per connection")
    if after["snapshot"] is not None and before["snapshot"] is not None:
        stats = after["snapshot"].compare_to(before["snapshot"], "traceback")
        stats.sort(key=lambda s: s.size_diff, reverse=True)
        total = sum(s.size_diff for s in stats)
        print(f"\ntracemalloc: {total / added / 1024:.2f} KiB per connection still allocated")
        by_part: dict[str, float] = {}
        for stat in stats:
            part = part_of(stat.traceback)
            by_part[part] = by_part.get(part, 0.0) + stat.size_diff / added
        for part, size in sorted(by_part.items(), key=lambda kv: kv[1], reverse=True):
            print(f"  {size / 1024:6.2f} KiB  {part}")
        print()
        # Tracebacks that end in the same frames are one cause: sum them.
        grouped: dict[str, list[float]] = {}
        for stat in stats:
            key = _where(stat.traceback)
            entry = grouped.setdefault(key, [0.0, 0.0])
            entry[0] += stat.size_diff / added
            entry[1] += stat.count_diff / added
        ranked = sorted(grouped.items(), key=lambda kv: kv[1][0], reverse=True)
        for key, (size, count) in ranked[:top]:
            print(f"  {size:8.0f} B {count:6.2f} blocks  {key}")
    print("\nobjects the collector tracks, per connection (type: count, shallow bytes):")
    rows = []
    for kind, (count, size) in after["types"].items():
        old_count, old_size = before["types"].get(kind, (0, 0))
        rows.append((kind, (count - old_count) / added, (size - old_size) / added))
    rows.sort(key=lambda row: row[2], reverse=True)
    for kind, count, size in rows[:top]:
        print(f"  {size:8.0f} B {count:6.2f}  {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,2000")
    parser.add_argument("--frames", type=int, default=25)
    parser.add_argument("--no-trace", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    redis, redis_url = start_redis(OTHER_CORES)
    started: list[Any] = [redis]
    try:
        database = f"sqlite:///{tempfile.mkdtemp(prefix='gleepost-memory-')}/bench.sqlite3"
        env = gleepost_env(redis_url, database)
        os.environ.update(env)
        import django

        django.setup()
        from bench import population

        population.migrate()
        members = population.make_members(max(counts) + 1, f"m{os.getpid()}u")
        out = Path(tempfile.mkdtemp(prefix="gleepost-memprobe-"))
        probe_env = {**env, "GLEEPOST_MEMPROBE_DIR": str(out)}
        if not args.no_trace:
            probe_env["PYTHONTRACEMALLOC"] = str(args.frames)
        # Traced, a handshake takes long: a longer timeout, fewer at once, so that all open.
        server, port = start_daphne(
            "daphne",
            probe_env,
            SERVER_CORES,
            launcher="bench.memprobe",
            extra_args=["--websocket_connect_timeout", "600"],
        )
        started.append(server)

        def connections(chosen: list[Any]) -> list[dict[str, Any]]:
            url = f"ws://127.0.0.1:{port}/api/v1/ws?"
            return [{"url": url + m.query(), "user": m.user_id} for m in chosen]

        concurrency = 50 if args.no_trace else 5
        started.append(LoadGenerator(connections(members[:1]), OTHER_CORES))
        readings = [_read(server, out, 1)]
        chosen = 1
        for number, count in enumerate(counts, start=2):
            batch = connections(members[chosen : count + 1])
            loadgen = LoadGenerator(batch, OTHER_CORES, concurrency)
            started.append(loadgen)
            print(f"{count} connections: {loadgen.ready}", flush=True)
            chosen = count + 1
            readings.append(_read(server, out, number))
        # Connections that failed hold nothing: divide by those the last batch opened.
        report(readings[-2], readings[-1], int(loadgen.ready["open"]), args.top)
    finally:
        for process in reversed(started):
            process.stop()


if __name__ == "__main__":
    main()
