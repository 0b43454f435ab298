"""The metrics of realtime/metrics.py, moved by the code that counts them: the publisher's
queue (with a recording channel layer), the consumer through the ASGI application (the
configured channel layer), and direct delivery on a consumer of its own. Over real TCP and
scraped through ``/metrics``: tests/realtime/test_metrics_end_to_end.py."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone
from prometheus_client import REGISTRY

from conversations import actions as conversation_actions
from posts import actions as post_actions
from posts.models import Post
from realtime import history, metrics, publish
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS
from realtime.consumers import EventConsumer
from realtime.dispatch import SerialDispatcher
from realtime.publish import Outgoing, Publisher, _LoopQueue
from tests.conftest import Member
from tests.realtime.conftest import Connect

run = database_sync_to_async


def value(name: str, **labels: str) -> float:
    """A sample's current value; 0 for a labelled child not created yet."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def until(check: Any, timeout: float = 3.0) -> None:
    """Wait for ``check()`` to hold: a close reaches the server a moment after the client's."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the metric did not move"
        await asyncio.sleep(0.01)


# The pieces


def test_a_label_value_gets_one_child_and_a_missing_type_is_unknown() -> None:
    assert metrics.delivered["message"] is metrics.delivered["message"]
    before = value("gleepost_events_delivered_total", type="unknown")
    metrics.delivered[None].inc()
    assert value("gleepost_events_delivered_total", type="unknown") == before + 1


def test_a_close_is_counted_by_its_code_and_without_one_as_none() -> None:
    open_before = value("gleepost_websocket_connections_open")
    opened_before = value("gleepost_websocket_connections_opened_total")
    closed_before = {
        code: value("gleepost_websocket_connections_closed_total", code=code)
        for code in (str(CLOSE_INVALID_CREDENTIALS), "none")
    }
    metrics.connection_opened()
    metrics.connection_opened()
    assert value("gleepost_websocket_connections_open") == open_before + 2
    metrics.connection_closed(CLOSE_INVALID_CREDENTIALS)
    metrics.connection_closed(None)
    assert value("gleepost_websocket_connections_open") == open_before
    assert value("gleepost_websocket_connections_opened_total") == opened_before + 2
    for code, before in closed_before.items():
        assert value("gleepost_websocket_connections_closed_total", code=code) == before + 1


# The publisher


class RecordingLayer:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sends: list[tuple[str, dict[str, Any]]] = []

    async def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        if self.fail:
            raise ConnectionError("redis is away")
        self.sends.extend(sends)


def event_item(event_type: str, groups: int, published_at: float) -> Outgoing:
    message = {"type": "realtime.event", "text": "{}", "event_type": event_type}
    groups_ = tuple(f"user.{n}" for n in range(groups))
    return Outgoing(groups_, message, f"a {event_type} event", event_type, published_at)


async def drain(monkeypatch: pytest.MonkeyPatch, layer: object, *items: Outgoing) -> None:
    monkeypatch.setattr(publish, "get_channel_layer", lambda: layer)
    queue = _LoopQueue(asyncio.get_running_loop())
    for item in items:
        queue.push(item)
    await asyncio.sleep(0)
    await asyncio.wait_for(queue.idle.wait(), 5)


@pytest.mark.asyncio
async def test_sends_that_complete_count_per_group_by_type_with_their_latency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published = value("gleepost_events_published_total", type="read")
    observed = value("gleepost_publish_latency_seconds_count")
    slow = value("gleepost_publish_latency_seconds_bucket", le="0.25")
    control = Outgoing(("user.1",), {"type": "realtime.network_left", "network": 1}, "control")
    # Published 0.1 s ago: the histogram must see at least that long.
    item = event_item("read", groups=3, published_at=time.perf_counter() - 0.1)
    await drain(monkeypatch, RecordingLayer(), item, control)
    assert value("gleepost_events_published_total", type="read") == published + 3
    # One observation for the event, none for the control message.
    assert value("gleepost_publish_latency_seconds_count") == observed + 1
    assert value("gleepost_publish_latency_seconds_bucket", le="0.1") < observed + 1
    assert value("gleepost_publish_latency_seconds_bucket", le="0.25") == slow + 1


@pytest.mark.asyncio
async def test_a_failed_batch_counts_publish_errors_and_publishes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    published = value("gleepost_events_published_total", type="read")
    errors = value("gleepost_errors_total", kind="publish")
    observed = value("gleepost_publish_latency_seconds_count")
    await drain(
        monkeypatch,
        RecordingLayer(fail=True),
        event_item("read", 2, time.perf_counter()),
        event_item("read", 1, time.perf_counter()),
    )
    assert value("gleepost_errors_total", kind="publish") == errors + 3
    assert value("gleepost_events_published_total", type="read") == published
    assert value("gleepost_publish_latency_seconds_count") == observed


@pytest.mark.asyncio
async def test_a_layer_without_batching_counts_only_the_groups_it_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class HalfDownLayer:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            if group == "user.1":
                raise ConnectionError("that shard is away")

    published = value("gleepost_events_published_total", type="typing")
    errors = value("gleepost_errors_total", kind="publish")
    await drain(monkeypatch, HalfDownLayer(), event_item("typing", 3, time.perf_counter()))
    assert value("gleepost_events_published_total", type="typing") == published + 2
    assert value("gleepost_errors_total", kind="publish") == errors + 1


def test_a_full_backlog_counts_what_it_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "MAX_PENDING_EVENTS", 1)
    loop = asyncio.new_event_loop()
    try:
        queue = _LoopQueue(loop)
        dropped = value("gleepost_errors_total", kind="publish_dropped")
        queue.push(event_item("read", 2, 0.0))
        queue.push(event_item("read", 1, 0.0))  # pushes the first, two sends, out
        assert value("gleepost_errors_total", kind="publish_dropped") == dropped + 2
        assert queue.drainer is not None
        queue.drainer.cancel()
    finally:
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


def test_an_event_message_carries_its_type_beside_the_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []
    publisher = Publisher()
    monkeypatch.setattr(publisher, "send", lambda groups, message, label: sent.append(message))
    publisher.publish(["post.1"], '{"type":"views"}', "views")
    assert sent == [{"type": "realtime.event", "text": '{"type":"views"}', "event_type": "views"}]


# The consumer, through the ASGI application and the configured channel layer


async def make_post(author: Member, *members: Member) -> int:
    network = await run(post_actions.do_create_network)(author.user, "Campus")
    await run(post_actions.do_add_network_members)(network, author.user, [m.id for m in members])
    post = await run(post_actions.do_create_post)(network, author.user, "hello")
    return int(post.pk)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
class TestConsumer:
    async def test_a_connection_is_open_until_it_closes_and_counted_by_its_code(
        self, connect: Connect, alice: Member
    ) -> None:
        open_before = value("gleepost_websocket_connections_open")
        opened = value("gleepost_websocket_connections_opened_total")
        closed = value("gleepost_websocket_connections_closed_total", code="1000")
        socket = await connect(alice)
        assert value("gleepost_websocket_connections_open") == open_before + 1
        assert value("gleepost_websocket_connections_opened_total") == opened + 1
        await socket.disconnect(code=1000)
        await until(lambda: value("gleepost_websocket_connections_open") == open_before)
        assert value("gleepost_websocket_connections_closed_total", code="1000") == closed + 1

    async def test_bad_credentials_count_a_refused_handshake(
        self, connect: Connect, alice: Member
    ) -> None:
        refused = value("gleepost_errors_total", kind="invalid_credentials")
        socket = await connect(query=f"id={alice.id}&token=not-it")
        assert await socket.receive_from() == '{"error":"Invalid credentials"}'
        assert value("gleepost_errors_total", kind="invalid_credentials") == refused + 1

    async def test_subscriptions_are_counted_until_dropped_or_closed(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        first, second = await make_post(alice, bob), await make_post(alice, bob)
        posts = value("gleepost_subscriptions", kind="post")
        networks = value("gleepost_subscriptions", kind="network")
        socket = await connect(bob)
        await socket.subscribe_posts([first, second])
        assert value("gleepost_subscriptions", kind="post") == posts + 2
        await socket.send_json_to({"action": "UNSUBSCRIBE", "posts": [first, 999]})
        await until(lambda: value("gleepost_subscriptions", kind="post") == posts + 1)
        # A refused post is not counted; the network the posts are in is.
        network = await run(lambda: Post.objects.get(pk=first).network_id)()
        await socket.send_json_to({"action": "SUBSCRIBE", "networks": [network]})
        await until(lambda: value("gleepost_subscriptions", kind="network") == networks + 1)
        await socket.disconnect()
        await until(lambda: value("gleepost_subscriptions", kind="post") == posts)
        assert value("gleepost_subscriptions", kind="network") == networks

    async def test_each_event_written_is_counted_by_its_type(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        post = await make_post(alice, bob)
        views = value("gleepost_events_delivered_total", type="views")
        socket = await connect(bob)
        await socket.subscribe_posts([post])  # answered with the current count: one views event
        assert value("gleepost_events_delivered_total", type="views") == views + 1
        await run(post_actions.do_record_views)(alice.user, [(post, timezone.now())])
        assert (await socket.next_event())["type"] == "views"
        assert value("gleepost_events_delivered_total", type="views") == views + 2

    async def test_replayed_events_are_counted_by_their_type(
        self, connect: Connect, alice: Member, bob: Member
    ) -> None:
        start = await run(history.current_position)(bob.id)
        conversation, _ = await run(conversation_actions.do_create_conversation)(
            alice.user, [bob.id]
        )
        await run(conversation_actions.do_send_message)(conversation, alice.user, "while away")
        replayed = {
            kind: value("gleepost_events_delivered_total", type=kind)
            for kind in ("new-conversation", "message")
        }
        query = f"id={bob.id}&token={bob.token}&since={start.seq}&epoch={start.epoch}"
        socket = await connect(bob, query=query)
        assert [(await socket.next_event())["type"] for _ in range(2)] == [
            "new-conversation",
            "message",
        ]
        for kind, before in replayed.items():
            assert value("gleepost_events_delivered_total", type=kind) == before + 1

    async def test_a_malformed_frame_counts_a_frame_error(
        self, connect: Connect, alice: Member
    ) -> None:
        errors = value("gleepost_errors_total", kind="frame")
        delivered = value("gleepost_events_delivered_total", type="error")
        socket = await connect(alice)
        await socket.send_to(text_data="{not json")
        assert (await socket.next_event())["type"] == "error"
        assert value("gleepost_errors_total", kind="frame") == errors + 1
        assert value("gleepost_events_delivered_total", type="error") == delivered + 1


# Direct delivery, on a consumer of its own


def test_direct_delivery_counts_only_the_frames_it_writes() -> None:
    written: list[dict[str, Any]] = []

    async def base_send(message: dict[str, Any]) -> None:
        written.append(message)

    consumer = EventConsumer()
    consumer.dispatcher = SerialDispatcher()
    consumer.base_send = base_send
    consumer.user_id, consumer.epoch, consumer.delivered_seq = 1, "e1", 4
    delivered = value("gleepost_events_delivered_total", type="message")

    def message(seq: int) -> dict[str, Any]:
        return {
            "type": "realtime.event",
            "text": f'{{"seq":{seq}}}',
            "event_type": "message",
            "seq": seq,
            "epoch": "e1",
        }

    assert consumer._deliver_now(message(5)) is True  # the next one: written now
    assert consumer._deliver_now(message(5)) is True  # a duplicate: dropped
    assert consumer._deliver_now(message(7)) is False  # a gap: declined, for the queue
    assert [m["text"] for m in written] == ['{"seq":5}']
    assert value("gleepost_events_delivered_total", type="message") == delivered + 1
