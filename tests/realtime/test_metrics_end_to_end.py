"""``GET /metrics`` of a real daphne process, scraped over HTTP while a real websocket client
subscribes, receives events caused through the REST API, sends a malformed frame and closes."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from posts import actions as post_actions
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from tests.conftest import Member
from tests.realtime.e2e import http, in_thread, next_event, post_view, ws_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

# A sample by its name and labels, e.g. ("gleepost_errors_total", (("kind", "frame"),)).
Key = tuple[str, tuple[tuple[str, str], ...]]


def scrape(base: str) -> dict[Key, float]:
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


class Scraper:
    """Scrapes one process and tells how far each sample moved since the first scrape."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.before = scrape(base)
        self.now = self.before

    async def rescrape(self) -> None:
        self.now = await asyncio.to_thread(scrape, self.base)

    def moved(self, name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return self.now.get(key, 0.0) - self.before.get(key, 0.0)

    def moved_all(self, name: str) -> float:
        """How far the samples of ``name`` moved together, whatever their labels."""
        keys = {key for key in (*self.before, *self.now) if key[0] == name}
        return sum(self.now.get(key, 0.0) - self.before.get(key, 0.0) for key in keys)

    async def until(self, settled: Callable[[], bool], timeout: float = 5.0) -> None:
        """Scrape until ``settled()``: a close reaches the server a moment after the client."""
        deadline = time.monotonic() + timeout
        await self.rescrape()
        while not settled():
            assert time.monotonic() < deadline, "the metrics did not settle"
            await asyncio.sleep(0.05)
            await self.rescrape()


async def test_scraped_metrics_follow_a_connection_its_events_and_its_close(
    servers: tuple[str, str], alice: Member, bob: Member
) -> None:
    base, other = servers

    def make_post() -> int:
        network = post_actions.do_create_network(alice.user, "Campus")
        post_actions.do_add_network_members(network, alice.user, [bob.id])
        return int(post_actions.do_create_post(network, alice.user, "count me").pk)

    post_id = await in_thread(make_post)
    metrics = await asyncio.to_thread(Scraper, base)
    other_metrics = await asyncio.to_thread(Scraper, other)
    socket = await connect(ws_url(base, query=f"id={bob.id}&token={bob.token}"))
    try:
        await metrics.rescrape()
        assert metrics.moved("gleepost_websocket_connections_open") == 1
        assert metrics.moved("gleepost_websocket_connections_opened_total") == 1

        await socket.send(json.dumps({"action": "SUBSCRIBE", "posts": [post_id]}))
        assert await next_event(socket) == {
            "type": "views",
            "location": f"/posts/{post_id}",
            "data": {"views": 0},
        }
        await asyncio.to_thread(post_view, base, alice, post_id)
        assert (await next_event(socket))["data"] == {"views": 1}
        status, conversation = await asyncio.to_thread(
            http, "POST", f"{base}/api/v1/conversations", alice, {"participants": str(bob.id)}
        )
        assert status == 201
        status, _ = await asyncio.to_thread(
            http,
            "POST",
            f"{base}/api/v1/conversations/{conversation['id']}/messages",
            alice,
            {"text": "counted"},
        )
        assert status == 201
        assert [(await next_event(socket))["type"] for _ in range(2)] == [
            "new-conversation",
            "message",
        ]
        await socket.send("{not json")
        assert (await next_event(socket))["type"] == "error"

        await metrics.rescrape()
        assert metrics.moved("gleepost_subscriptions", kind="post") == 1
        delivered = "gleepost_events_delivered_total"
        # The views answer to SUBSCRIBE and the live views event after the view.
        assert metrics.moved(delivered, type="views") == 2
        assert metrics.moved(delivered, type="new-conversation") == 1
        assert metrics.moved(delivered, type="message") == 1
        assert metrics.moved(delivered, type="error") == 1
        assert metrics.moved_all(delivered) == 5
        assert metrics.moved("gleepost_errors_total", kind="frame") == 1
        # One send to the post's group; the conversation's events to alice's and bob's streams.
        published = "gleepost_events_published_total"
        assert metrics.moved(published, type="views") == 1
        assert metrics.moved(published, type="new-conversation") == 2
        assert metrics.moved(published, type="message") == 2
        # Each of those publishes went to one group, so each was timed once.
        assert metrics.moved("gleepost_publish_latency_seconds_count") == 5
        assert 0 < metrics.moved("gleepost_publish_latency_seconds_sum") < 5 * 2.0

        # Each process counts its own: the other saw no connection.
        await other_metrics.rescrape()
        assert other_metrics.moved("gleepost_websocket_connections_opened_total") == 0
        assert other_metrics.moved_all(delivered) == 0
    finally:
        await socket.close(code=1000)

    await metrics.until(lambda: metrics.moved("gleepost_websocket_connections_open") == 0)
    assert metrics.moved("gleepost_websocket_connections_closed_total", code="1000") == 1
    # The subscription is let go after the close is counted: leaving its group in Redis comes
    # first, so the gauge settles a moment later.
    await metrics.until(lambda: metrics.moved("gleepost_subscriptions", kind="post") == 0)


async def test_a_refused_handshake_is_counted_with_its_close_code(
    servers: tuple[str, str], alice: Member
) -> None:
    base = servers[0]
    metrics = await asyncio.to_thread(Scraper, base)
    async with connect(ws_url(base, query=f"id={alice.id}&token=wrong")) as socket:
        assert json.loads(await socket.recv()) == {"error": "Invalid credentials"}
        await socket.wait_closed()
    assert socket.close_code == CLOSE_INVALID_CREDENTIALS
    await metrics.until(lambda: metrics.moved("gleepost_websocket_connections_open") == 0)
    assert metrics.moved("gleepost_websocket_connections_opened_total") == 1
    assert (
        metrics.moved(
            "gleepost_websocket_connections_closed_total", code=str(CLOSE_INVALID_CREDENTIALS)
        )
        == 1
    )
    assert metrics.moved("gleepost_errors_total", kind="invalid_credentials") == 1
