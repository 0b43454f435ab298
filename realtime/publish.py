"""How events leave the process: serialized once, never blocking the caller, in one of two ways.

- **On commit**, what the domain's changes cause: ``publish_on_commit(event, groups)`` (a
  live-only event), ``publish_to_streams_on_commit(event, user_ids)`` (recorded on each user's
  stream in the caller's transaction, for resume) and ``send_control_on_commit(groups,
  message)`` (a message to the consumers, never to a client). A rolled-back change sends nothing.
- **Now**, ``publish_now(event, groups)``: ephemeral events that no transaction stands behind
  and that are never recorded (typing, views).

Either way the event's JSON text is handed to a long-lived event loop that owns the channel
layer's connections:

- inside daphne, the server's own loop (bound by ``realtime.asgi`` on each connection/request);
- everywhere else (the video worker, management commands, the shell, a WSGI process), one
  background thread with its own loop, started on first use and drained at exit.

Either way a publish from synchronous code costs one ``call_soon_threadsafe`` — no new event
loop and no new Redis connection per event, and a slow or absent Redis never blocks a request.
Events go out in the order they were published. While one round trip to Redis is in flight the
next events wait in the queue; the drainer then takes them all (up to ``MAX_BATCH_SENDS``) and
sends them in one pipelined round trip, so a burst — a message to 50 participants, each with
its own positioned copy — costs one round trip, not 50 (docs/reliability.md, slow consumers).

An event's channel-layer message carries its type (``event_type``) beside the pre-serialized
text, so that whoever forwards it can count it by type without parsing the text.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

from realtime import metrics
from realtime.events import Event

logger = logging.getLogger(__name__)

# The channel-layer message type; the consumer's handler is ``realtime_event``.
CHANNEL_MESSAGE_TYPE = "realtime.event"
# A send that takes longer than this is abandoned (Redis unreachable): never wait forever.
SEND_TIMEOUT_SECS = 2.0
# Events waiting to be sent per loop; beyond this the oldest are dropped and logged.
MAX_PENDING_EVENTS = 100_000
# Group sends taken from the queue at once and pipelined into one round trip per Redis shard.
MAX_BATCH_SENDS = 500
EXIT_FLUSH_TIMEOUT_SECS = 5.0


@dataclass(frozen=True)
class Outgoing:
    groups: tuple[str, ...]
    message: dict[str, Any]
    # For logs only: the event type or control message type, never the content.
    label: str
    # The event's type (None for a control message), and when it was handed to the publisher:
    # for the metrics of sends that complete.
    event_type: str | None = None
    published_at: float = 0.0


class _LoopQueue:
    """The pending sends of one event loop, drained by one task so that order is kept."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.pending: deque[Outgoing] = deque()
        self.drainer: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    def push(self, item: Outgoing) -> None:
        """Runs on ``loop``."""
        if len(self.pending) >= MAX_PENDING_EVENTS:
            dropped = self.pending.popleft()
            metrics.count_error("publish_dropped", len(dropped.groups))
            logger.error("publish backlog full; dropped %s", dropped.label)
        self.pending.append(item)
        if self.drainer is None or self.drainer.done():
            self.idle.clear()
            self.drainer = self.loop.create_task(self._drain())

    def push_all(self, items: list[Outgoing]) -> None:
        """Runs on ``loop``: ``push`` each, in order."""
        for item in items:
            self.push(item)

    def take_batch(self) -> list[Outgoing]:
        """The oldest pending items, at least one, together at most ``MAX_BATCH_SENDS`` sends."""
        batch = [self.pending.popleft()]
        sends = len(batch[0].groups)
        while self.pending and sends + len(self.pending[0].groups) <= MAX_BATCH_SENDS:
            item = self.pending.popleft()
            batch.append(item)
            sends += len(item.groups)
        return batch

    async def _drain(self) -> None:
        layer = get_channel_layer()
        send_many = getattr(layer, "group_send_many", None)
        try:
            while self.pending:
                batch = self.take_batch()
                if send_many is None:
                    # A layer without batching (the in-memory one): one send at a time.
                    for item in batch:
                        await _send(layer, item)
                else:
                    await _send_batch(send_many, batch)
        finally:
            self.idle.set()


SendMany = Callable[[list[tuple[str, dict[str, Any]]]], Awaitable[None]]


async def _send_batch(send_many: SendMany, batch: list[Outgoing]) -> None:
    sends = [(group, item.message) for item in batch for group in item.groups]
    try:
        await asyncio.wait_for(send_many(sends), SEND_TIMEOUT_SECS)
    except Exception:
        metrics.count_error("publish", len(sends))
        # Never log the messages: they are users' private content.
        labels = Counter(item.label for item in batch)
        logger.warning(
            "could not publish %d sends: %s",
            len(sends),
            ", ".join(f"{label} (x{count})" for label, count in labels.most_common()),
            exc_info=True,
        )
        return
    sent_at = time.perf_counter()
    for item in batch:
        _count_sent(item, len(item.groups), sent_at)


async def _send(layer: object, item: Outgoing) -> None:
    sent = 0
    for group in item.groups:
        try:
            await asyncio.wait_for(
                layer.group_send(group, item.message),  # type: ignore[attr-defined]
                SEND_TIMEOUT_SECS,
            )
            sent += 1
        except Exception:
            metrics.count_error("publish")
            # Never log the message: it is a user's private content.
            logger.warning("could not publish %s to %s", item.label, group, exc_info=True)
    if sent:
        _count_sent(item, sent, time.perf_counter())


def _count_sent(item: Outgoing, sends: int, sent_at: float) -> None:
    if item.event_type is not None:
        metrics.published[item.event_type].inc(sends)
        metrics.PUBLISH_LATENCY.observe(sent_at - item.published_at)


class Publisher:
    """Routes publishes from any thread to the right long-lived event loop."""

    def __init__(self) -> None:
        self._server_loop: asyncio.AbstractEventLoop | None = None
        self._own_loop: asyncio.AbstractEventLoop | None = None
        self._queues: dict[asyncio.AbstractEventLoop, _LoopQueue] = {}
        self._lock = threading.Lock()
        self._prepared = False

    def bind_server_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Publish on ``loop`` (the ASGI server's) from now on."""
        self._server_loop = loop

    def target_loop(self) -> asyncio.AbstractEventLoop:
        server = self._server_loop
        if server is not None and server.is_running():
            return server
        return self._background_loop()

    def prepare(self) -> None:
        """Build the channel layer now, before the commit a publish waits for: a new process
        (a ``manage.py shell``, a command) otherwise builds it after the commit, importing
        channels-redis and redis-py first, and its first event or revocation reached clients
        0.3 s after commit, over 1 s on a loaded machine (tests/realtime/
        test_credentials_end_to_end.py). Channels keeps the layer: later calls cost a lookup."""
        if not self._prepared:
            get_channel_layer()
            self._prepared = True

    def publish(self, groups: Iterable[str], text: str, event_type: str) -> None:
        """Queue an event's ``text`` for ``groups``; returns at once, from any thread."""
        message = {"type": CHANNEL_MESSAGE_TYPE, "text": text, "event_type": event_type}
        self.send(groups, message, f"a {event_type} event")

    def send(self, groups: Iterable[str], message: dict[str, Any], label: str) -> None:
        """Queue a channel-layer message for ``groups``; returns at once, from any thread."""
        item = Outgoing(
            tuple(groups), message, label, message.get("event_type"), time.perf_counter()
        )
        if not item.groups:
            return
        loop = self.target_loop()
        try:
            loop.call_soon_threadsafe(self._queue(loop).push, item)
        except RuntimeError:
            # The loop closed between the check and the call (a test's loop, a shutdown).
            metrics.count_error("publish_dropped", len(item.groups))
            logger.warning("event loop closed; %s was not published", label)

    def send_many(self, sends: Iterable[tuple[Iterable[str], dict[str, Any], str]]) -> None:
        """``send`` each (groups, message, label) in order, waking the target loop once: a
        message's copies to 50 participants cost one wake-up (a write to the loop's self-pipe,
        about 0.1 ms each) instead of 50."""
        published_at = time.perf_counter()
        items = [
            Outgoing(tuple(groups), message, label, message.get("event_type"), published_at)
            for groups, message, label in sends
        ]
        items = [item for item in items if item.groups]
        if not items:
            return
        loop = self.target_loop()
        try:
            loop.call_soon_threadsafe(self._queue(loop).push_all, items)
        except RuntimeError:
            metrics.count_error("publish_dropped", sum(len(item.groups) for item in items))
            logger.warning("event loop closed; %s was not published", items[0].label)

    def _queue(self, loop: asyncio.AbstractEventLoop) -> _LoopQueue:
        queue = self._queues.get(loop)
        if queue is None:
            with self._lock:
                queue = self._queues.setdefault(loop, _LoopQueue(loop))
        return queue

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._own_loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="realtime-publisher", daemon=True
                )
                thread.start()
                self._own_loop = loop
                atexit.register(self.flush)
            return self._own_loop

    def flush(self, timeout: float = EXIT_FLUSH_TIMEOUT_SECS) -> None:
        """Wait until the background loop has sent everything queued (at exit, in tests)."""
        loop = self._own_loop
        if loop is None or not loop.is_running():
            return

        async def wait_idle() -> None:
            # Let call_soon_threadsafe callbacks queued before us run first.
            await asyncio.sleep(0)
            queue = self._queues.get(loop)
            if queue is not None:
                await queue.idle.wait()

        try:
            asyncio.run_coroutine_threadsafe(wait_idle(), loop).result(timeout)
        except Exception:
            logger.warning("events still unsent after %.1fs at exit", timeout)


publisher = Publisher()


def _after_commit(send: Callable[[], None]) -> None:
    """Run ``send`` once the current transaction commits (now, if none), the channel layer
    built before the commit (``Publisher.prepare``)."""
    publisher.prepare()
    transaction.on_commit(send)


def publish_now(event: Event, groups: Iterable[str]) -> None:
    """Send an ephemeral ``event`` (typing, views) to ``groups`` at once: no transaction stands
    behind it and it is never recorded, so a client that was away does not get it on resume."""
    publisher.publish(groups, event.text, event.type)


def publish_on_commit(event: Event, groups: Iterable[str]) -> None:
    """Send ``event`` to ``groups`` once the current transaction commits (now, if none)."""
    targets = tuple(groups)
    if not targets:
        return
    _after_commit(lambda: publisher.publish(targets, event.text, event.type))


def publish_to_streams_on_commit(event: Event, user_ids: Iterable[int]) -> None:
    """Record ``event`` on each user's stream now, in the current transaction, and send each
    user's positioned copy to their connections once it commits."""
    from realtime.groups import user_group
    from realtime.history import record

    positioned = record(event, user_ids)
    if not positioned:
        return

    def send_all() -> None:
        label = f"a {event.type} event"
        publisher.send_many(
            (
                [user_group(copy.user_id)],
                {
                    "type": CHANNEL_MESSAGE_TYPE,
                    "text": copy.text,
                    "event_type": event.type,
                    "seq": copy.seq,
                    "epoch": copy.epoch,
                },
                label,
            )
            for copy in positioned
        )

    _after_commit(send_all)


def send_control_on_commit(groups: Iterable[str], message: dict[str, Any]) -> None:
    """After commit, tell the connections in ``groups`` to act (leave a group, close).

    Control messages never reach clients as such; the consumer has one handler per type.
    """
    targets = tuple(groups)
    if targets:
        _after_commit(lambda: publisher.send(targets, message, message["type"]))
