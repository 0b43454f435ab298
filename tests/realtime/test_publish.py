"""The publisher's queue: batches taken in order, sent in one call, failures logged without
content. The channel layer is a recorder here; real Redis is in test_layers and end to end."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from realtime import publish
from realtime.publish import Outgoing, _LoopQueue


def outgoing(n: int, groups: int = 1) -> Outgoing:
    message = {"type": "realtime.event", "text": f"secret {n}"}
    return Outgoing(tuple(f"user.{g}" for g in range(groups)), message, f"event {n}")


class BatchingLayer:
    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[list[tuple[str, dict[str, Any]]]] = []
        self.fail_first = fail_first

    async def group_send_many(self, sends: list[tuple[str, dict[str, Any]]]) -> None:
        self.calls.append(sends)
        # Let more items arrive while this "round trip" is in flight.
        await asyncio.sleep(0.01)
        if self.fail_first and len(self.calls) == 1:
            raise ConnectionError("redis is away")


async def drained(queue: _LoopQueue) -> None:
    await asyncio.sleep(0)
    await asyncio.wait_for(queue.idle.wait(), 5)


async def test_take_batch_keeps_order_and_the_send_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish, "MAX_BATCH_SENDS", 10)
    queue = _LoopQueue(asyncio.get_running_loop())
    items = [outgoing(0, groups=4), outgoing(1, groups=4), outgoing(2, groups=4), outgoing(3)]
    queue.pending.extend(items)
    assert queue.take_batch() == items[:2]
    assert queue.take_batch() == items[2:]
    # One item over the limit on its own still goes, whole.
    queue.pending.append(big := outgoing(4, groups=25))
    assert queue.take_batch() == [big]


async def test_items_queued_during_a_round_trip_go_together_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = BatchingLayer()
    monkeypatch.setattr(publish, "get_channel_layer", lambda: layer)
    queue = _LoopQueue(asyncio.get_running_loop())
    queue.push(outgoing(0))
    await asyncio.sleep(0)  # the drainer starts its first round trip
    for n in range(1, 6):
        queue.push(outgoing(n, groups=2))
    await drained(queue)
    assert len(layer.calls) == 2
    assert [message["text"] for _, message in layer.calls[0]] == ["secret 0"]
    assert [(group, message["text"]) for group, message in layer.calls[1]] == [
        (f"user.{g}", f"secret {n}") for n in range(1, 6) for g in range(2)
    ]


async def test_a_failed_batch_is_logged_without_content_and_the_next_goes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    layer = BatchingLayer(fail_first=True)
    monkeypatch.setattr(publish, "get_channel_layer", lambda: layer)
    queue = _LoopQueue(asyncio.get_running_loop())
    with caplog.at_level(logging.WARNING, logger="realtime.publish"):
        queue.push(outgoing(0))
        await asyncio.sleep(0)
        queue.push(outgoing(1))
        await drained(queue)
    assert len(layer.calls) == 2
    assert "could not publish 1 sends: event 0 (x1)" in caplog.text
    assert "secret" not in caplog.text


async def test_a_layer_without_batching_gets_one_send_per_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, str]] = []

    class PlainLayer:
        async def group_send(self, group: str, message: dict[str, Any]) -> None:
            sent.append((group, message["text"]))

    monkeypatch.setattr(publish, "get_channel_layer", lambda: PlainLayer())
    queue = _LoopQueue(asyncio.get_running_loop())
    queue.push(outgoing(0, groups=2))
    queue.push(outgoing(1))
    await drained(queue)
    assert sent == [("user.0", "secret 0"), ("user.1", "secret 0"), ("user.0", "secret 1")]


async def test_send_many_queues_every_copy_in_order_with_one_wake_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layer = BatchingLayer()
    monkeypatch.setattr(publish, "get_channel_layer", lambda: layer)
    loop = asyncio.get_running_loop()
    wake_ups = []
    call_soon_threadsafe = loop.call_soon_threadsafe

    def counted(callback: Any, *args: Any) -> Any:
        wake_ups.append(callback)
        return call_soon_threadsafe(callback, *args)

    monkeypatch.setattr(loop, "call_soon_threadsafe", counted)
    publisher = publish.Publisher()
    publisher.bind_server_loop(loop)
    copies = [
        ([f"user.{n}"], {"type": "realtime.event", "text": f"copy {n}", "event_type": "message"})
        for n in range(5)
    ]
    publisher.send_many((groups, message, "a message event") for groups, message in copies)
    publisher.send_many([([], {"type": "realtime.event"}, "to nobody")])
    assert len(wake_ups) == 1
    await drained(publisher._queue(loop))
    assert [(group, message["text"]) for call in layer.calls for group, message in call] == [
        (f"user.{n}", f"copy {n}") for n in range(5)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_layer_is_built_before_the_commit_a_publish_waits_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new process builds its channel layer while the change is still open, not after its
    commit, so its first publish leaves as soon as it commits."""
    from django.db import transaction

    built: list[str] = []
    monkeypatch.setattr(publish, "publisher", publish.Publisher())
    monkeypatch.setattr(publish, "get_channel_layer", lambda: built.append("layer"))
    sent: list[Any] = []
    monkeypatch.setattr(publish.publisher, "send", lambda *args: sent.append(args))
    with transaction.atomic():
        publish.send_control_on_commit(["user.1"], {"type": "realtime.x"})
        assert built == ["layer"] and sent == []
        publish.send_control_on_commit(["user.1"], {"type": "realtime.x"})
    assert built == ["layer"]  # once a process
    assert len(sent) == 2


# The two ways: on commit, and now


@pytest.mark.django_db(transaction=True)
def test_publish_now_sends_inside_a_transaction_and_on_commit_waits_for_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import transaction

    from realtime.events import views_event

    sent: list[tuple[tuple[str, ...], str]] = []
    monkeypatch.setattr(
        publish.publisher,
        "publish",
        lambda groups, text, event_type: sent.append((tuple(groups), event_type)),
    )
    with transaction.atomic():
        publish.publish_now(views_event(1, 5), ["post.1"])
        publish.publish_on_commit(views_event(2, 6), ["post.2"])
        assert sent == [(("post.1",), "views")]
    assert sent == [(("post.1",), "views"), (("post.2",), "views")]
