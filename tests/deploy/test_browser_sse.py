"""A browser's own EventSource on ``/api/v1/events``, behind the committed nginx configuration in
front of two real daphne processes (the production layout's websocket tier; REST goes to them
too here): headless Chromium receives every event type of the protocol, survives the restart of
the daphne process serving it (a message sent meanwhile arrives once, in order, through the
``Last-Event-ID`` EventSource sends by itself), and stops when its access ends (logout: the
stream ends, the reconnection is refused, and EventSource gives up).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from conversations import actions as conversation_actions
from posts import actions as post_actions
from realtime.events import STREAM_EVENT_TYPES
from tests.browser import CHROMIUM
from tests.conftest import Member
from tests.deploy.test_nginx import (
    Deployment,
    env_example,
    post_form,
    request,
    start_nginx,
    unit_daphne_flags,
)
from tests.servers import ROOT, daphne, free_port, processes, server_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.needs_redis,
    pytest.mark.needs_chromium,
    pytest.mark.needs_ffmpeg,
    pytest.mark.django_db(transaction=True),
]

# Every event type of websockets.md (its stream events, and views)...
SPEC_TYPES = [*sorted(STREAM_EVENT_TYPES), "views"]
# ...and the service's own (resync-required is not caused here: tests/realtime/test_streams.py).
EVENT_TYPES = [*SPEC_TYPES, "error", "resync-required"]
# Long enough to send a message while the browser is away, short enough for a test.
RETRY_MS = 4000

LISTEN = """
(({url, types}) => {
  window.got = [];
  window.failures = 0;
  const source = new EventSource(url);
  window.source = source;
  for (const type of types) {
    source.addEventListener(type, (event) => {
      // EventSource fires a plain Event named "error" when its connection fails; the
      // server's own error events are MessageEvents with data.
      if (!(event instanceof MessageEvent)) return;
      window.got.push({type, id: event.lastEventId, data: JSON.parse(event.data)});
    });
  }
  source.addEventListener("error", (event) => {
    if (!(event instanceof MessageEvent)) window.failures += 1;
  });
})
"""


def got(page: Page, event_type: str | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = page.evaluate(
        "type => window.got.filter(e => type === null || e.type === type)", event_type
    )
    return events


def wait_for(page: Page, event_type: str, count: int = 1, timeout: float = 15_000) -> None:
    page.wait_for_function(
        "([type, count]) => window.got.filter(e => e.type === type).length >= count",
        arg=[event_type, count],
        timeout=timeout,
    )


def upload_video(deployment: Deployment, member: Member, clip: Path) -> int:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="video";'
            f' filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n'
        ).encode()
        + clip.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    answer = request(
        deployment,
        "POST",
        f"{deployment.https}/api/v1/videos",
        body,
        {
            "X-GP-Auth": member.auth_header,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert answer.status == 201, answer.body
    return int(answer.json()["id"])


def make_clip(path: Path) -> Path:
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-y", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10",
            "-pix_fmt", "yuv420p", str(path),
        ],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path


def streams_open(port: int) -> float:
    """gleepost_http_streams_open{transport="sse"} of the daphne process on ``port``."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith('gleepost_http_streams_open{transport="sse"}'):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_eventsource_behind_nginx_gets_every_event_survives_a_restart_and_stops_on_logout(
    alice: Member, bob: Member, carol: Member, tmp_path: Path
) -> None:
    # The database first: Playwright's sync API runs an event loop in this thread, and Django
    # refuses queries from a thread with a running loop.
    network = post_actions.do_create_network(alice.user, "Campus")
    post_actions.do_add_network_members(network, alice.user, [bob.id])
    post = post_actions.do_create_post(network, alice.user, "Hello campus")
    ending, _ = conversation_actions.do_create_conversation(alice.user, [bob.id], live=True)
    clip = make_clip(tmp_path / "clip.mp4")
    media = tmp_path / "media"
    media.mkdir()
    env = {
        **env_example("SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT", "GLEEPOST_SERVE_FILES"),
        "MEDIA_ROOT": str(media),
        "GLEEPOST_SSE_RETRY_MS": str(RETRY_MS),
    }
    ports = [free_port(), free_port()]
    with ExitStack() as stack:
        for port in ports:
            stack.enter_context(daphne(env, unit_daphne_flags(), port=port))
        (tmp_path / "nginx").mkdir()
        deployment = start_nginx(stack, tmp_path / "nginx", ports, ports)
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        stack.callback(browser.close)
        page = browser.new_context(ignore_https_errors=True).new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{deployment.https}/healthz")
        url = f"/api/v1/events?id={bob.id}&token={bob.token}&posts={post.pk},999999"
        page.evaluate(LISTEN, {"url": url, "types": EVENT_TYPES})

        # A refused subscription, then the current count of the allowed one.
        wait_for(page, "error")
        assert got(page, "error")[0]["data"]["data"] == {"reason": "not allowed", "posts": [999999]}
        wait_for(page, "views")
        # What other users' REST calls cause, each type in turn.
        created = post_form(
            deployment, "/api/v1/conversations", alice, participants=str(bob.id), live="true"
        )
        assert created.status == 201, created.body
        conversation = created.json()["id"]
        wait_for(page, "new-conversation")
        sent = post_form(
            deployment, f"/api/v1/conversations/{conversation}/messages", alice, text="one"
        )
        wait_for(page, "message")
        seen = request(
            deployment, "PUT", f"{deployment.https}/api/v1/conversations/{conversation}/messages",
            f"seen={sent.json()['id']}".encode(),
            {"X-GP-Auth": alice.auth_header, "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert seen.status == 200, seen.body
        wait_for(page, "read")
        participants = f"/api/v1/conversations/{conversation}/participants"
        added = post_form(deployment, participants, alice, users=str(carol.id))
        assert added.status == 200, added.body
        wait_for(page, "changed-conversation")
        ended = request(
            deployment, "DELETE", f"{deployment.https}/api/v1/conversations/{ending.pk}", None,
            {"X-GP-Auth": alice.auth_header},
        )  # fmt: skip
        assert ended.status == 204, ended.body
        wait_for(page, "ended-conversation")
        assert post_form(deployment, "/api/v1/contacts", alice, user=str(bob.id)).status == 201
        wait_for(page, "notification")
        viewed = request(
            deployment, "POST", f"{deployment.https}/api/v1/views/posts",
            json.dumps([{"post": post.pk}]).encode(),
            {"X-GP-Auth": alice.auth_header, "Content-Type": "application/json"},
        )  # fmt: skip
        assert viewed.status == 204
        wait_for(page, "views", 2)
        assert got(page, "views")[-1]["data"]["data"] == {"views": 1}
        video = upload_video(deployment, bob, clip)
        worker = [sys.executable, "manage.py", "process_videos", "--once"]
        subprocess.run(worker, cwd=ROOT, env=server_env(env), check=True, timeout=120)
        wait_for(page, "video-ready", timeout=30_000)
        assert got(page, "video-ready")[0]["data"]["location"] == f"/videos/{video}"
        assert {event["type"] for event in got(page)} == {*SPEC_TYPES, "error"}
        # Every stream event carries its position as its id.
        for event in got(page):
            if "seq" in event["data"]:
                assert event["id"] == f"{event['data']['epoch']}:{event['data']['seq']}"

        # The daphne process serving the stream stops (SIGTERM: it ends the stream); a message
        # is sent while the browser waits to reconnect, to the other process.
        serving = next(p for p in ports if streams_open(p) == 1)
        processes[f"http://127.0.0.1:{serving}"].terminate()
        page.wait_for_function("() => window.source.readyState === EventSource.CONNECTING")
        started = time.monotonic()
        post_form(
            deployment, f"/api/v1/conversations/{conversation}/messages", alice, text="meanwhile"
        )
        assert time.monotonic() - started < RETRY_MS / 1000, "sent after the browser came back"
        wait_for(page, "message", 2, timeout=20_000)
        post_form(deployment, f"/api/v1/conversations/{conversation}/messages", alice, text="after")
        wait_for(page, "message", 3)
        page.wait_for_timeout(300)  # a duplicate would have arrived right behind
        messages = got(page, "message")
        assert [m["data"]["data"]["text"] for m in messages] == ["one", "meanwhile", "after"]
        seqs = [m["data"]["seq"] for m in messages]
        assert seqs == sorted(seqs) and len(set(seqs)) == 3
        assert page.evaluate("window.source.readyState") == 1  # open, on the other process

        # Access ends: the stream says so and ends; EventSource's reconnection is refused
        # (401), and it stops for good.
        logout = request(
            deployment, "POST", f"{deployment.https}/api/v1/logout", b"",
            {"X-GP-Auth": bob.auth_header},
        )  # fmt: skip
        assert logout.status == 204
        page.wait_for_function("() => window.got.some(e => e.data.error === 'Invalid credentials')")
        page.wait_for_function(
            "() => window.source.readyState === EventSource.CLOSED", timeout=RETRY_MS + 15_000
        )
