"""The benchmark's two measuring instruments: the reference server and the Node load generator.

Events published in Redis reach every connection of the right user or post through the reference
server, and the load generator records each one once per connection, timed on the test's own
monotonic clock.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
import redis
from websockets.asyncio.client import connect

from tests.servers import ROOT, free_port, redis_server, wait_for_port

pytestmark = [pytest.mark.slow]

LOADGEN = ROOT / "bench" / "loadgen"
USERS = range(1, 11)
POST = 7
USER_EVENTS = 5
VIEWS_EVENTS = 3


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("needs node and npm on PATH")
    if not (LOADGEN / "node_modules").exists():
        subprocess.run(
            [npm, "ci", "--prefix", str(LOADGEN), "--no-audit", "--no-fund"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return node


@contextmanager
def reference_server(redis_url: str) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "bench" / "reference" / "server.py"),
            "--port",
            str(port),
            "--redis",
            redis_url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process)  # type: ignore[arg-type]  (text mode: str pipes)
        yield port
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0, out
        assert f"listening on {port}" in out
        assert "skipped sends: 0" in out, out


class Loadgen:
    def __init__(self, node: str, config: Path) -> None:
        self.process = subprocess.Popen(
            [node, str(LOADGEN / "loadgen.mjs"), str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def line(self) -> dict[str, Any]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        line = stdout.readline()
        assert line, f"loadgen exited with {self.process.wait()}"
        answer: dict[str, Any] = json.loads(line)
        return answer

    def command(self, text: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self.line()


def test_every_published_event_is_recorded_once_per_connection(node: str, tmp_path: Path) -> None:
    with redis_server() as redis_process, reference_server(redis_process.url) as port:
        url = f"ws://127.0.0.1:{port}/ws?id="
        subscribe = json.dumps({"action": "SUBSCRIBE", "posts": [POST]})
        connections = [
            {"url": f"{url}{user}", "user": user, "frames": [subscribe], "await_reply": True}
            if user == 1
            else {"url": f"{url}{user}", "user": user}
            for user in USERS
            for _ in range(2)
        ]
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"connections": connections, "connect_concurrency": 5}))
        loadgen = Loadgen(node, config)
        try:
            ready = loadgen.line()
            assert ready["ready"] is True
            assert (ready["open"], ready["failed"]) == (20, 0), ready

            publisher = redis.Redis.from_url(redis_process.url)
            # A connection is open before the server has subscribed its channel in Redis (it
            # does so in the connection's handler): publish once every channel is.
            channels = [f"user.{user}" for user in USERS] + [f"post.{POST}"]
            deadline = time.monotonic() + 10
            while not all(count for _, count in publisher.pubsub_numsub(*channels)):
                assert time.monotonic() < deadline, publisher.pubsub_numsub(*channels)
                time.sleep(0.01)
            before = time.monotonic_ns()
            for seq in range(USER_EVENTS):
                for user in USERS:
                    event = {"type": "video-ready", "seq": seq, "data": {}}
                    publisher.publish(f"user.{user}", json.dumps(event))
            for views in range(VIEWS_EVENTS):
                event = {"type": "views", "location": f"/posts/{POST}", "data": {"views": views}}
                publisher.publish(f"post.{POST}", json.dumps(event))
            publisher.close()

            expected_records = 2 * (len(USERS) * USER_EVENTS + VIEWS_EVENTS)
            deadline = time.monotonic() + 10
            stats = loadgen.command("stats")
            while stats["records"] < expected_records and time.monotonic() < deadline:
                time.sleep(0.05)
                stats = loadgen.command("stats")
            assert stats["by_type"] == {
                "subscribed": 2,
                "video-ready": 2 * len(USERS) * USER_EVENTS,
                "views": 2 * VIEWS_EVENTS,
            }, stats
            assert stats["open"] == 20

            dump = tmp_path / "records.bin"
            assert loadgen.command(f"dump {dump}") == {"dumped": expected_records}
            after = time.monotonic_ns()
            records = list(struct.iter_unpack("<iiiiq", dump.read_bytes()))
            expected = Counter(
                [(1, user, seq) for user in USERS for seq in range(USER_EVENTS)] * 2
                + [(2, POST, views) for views in range(VIEWS_EVENTS)] * 2
            )
            assert Counter((kind, a, b) for kind, a, b, _, _ in records) == expected
            assert all(padding == 0 for _, _, _, padding, _ in records)
            assert all(before <= t <= after for *_, t in records)

            assert loadgen.command("reset") == {"reset": True}
            assert loadgen.command("stats")["records"] == 0
            assert loadgen.command("quit") == {"quit": True}
            assert loadgen.process.wait(timeout=10) == 0
        finally:
            if loadgen.process.poll() is None:
                loadgen.process.kill()
                loadgen.process.wait()


async def test_garbage_is_answered_with_an_error_and_the_connection_stays() -> None:
    with redis_server() as redis_process, reference_server(redis_process.url) as port:
        async with connect(f"ws://127.0.0.1:{port}/ws?id=1") as ws:
            for garbage in ("not json", '{"action": "SUBSCRIBE", "posts": ["x"]}', b"\x00"):
                await ws.send(garbage)
                assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "error"}
            await ws.send(json.dumps({"action": "SUBSCRIBE", "posts": [3]}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply == {"type": "subscribed", "posts": [3]}
