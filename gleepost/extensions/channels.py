"""Channels' consumer, run by realtime.dispatch's message loop instead of its own.

What each private use buys (docs/frameworks.md, rows 18 and 19):

- A copy of ``AsyncConsumer.__call__`` (``SerialConsumer.__call__``), which sets Channels'
  ``base_send`` as the original does: it runs realtime.dispatch's loop (one reader task per
  source instead of a task and an ``asyncio.wait`` per message: ~111 → ~76 µs of daphne CPU per
  delivery, -32%, ``./bench/run --scenarios broadcast --rates 5``; 35.2 → 33.7 KiB per idle
  connection, ``.venv/bin/python bench/memory.py --no-trace --counts 10000``), in one coroutine
  (with other consumer changes 36.3 → 35.2 KiB), and it is where the consumer attaches the
  channel layer's direct delivery (``started``; gleepost.extensions.channels_redis).
- A copy of ``AsyncConsumer.dispatch`` without ``aclose_old_connections``, with Channels'
  undocumented ``get_handler_name``: the database thread hop per dispatched message cost more
  than forwarding the event, ~385 → ~145 µs per delivery in the same broadcast benchmark (the
  ~385 start also had only 870 of 1,000 clients connected), and it was one of a handshake's
  database hops. Every database call of the consumer goes through ``database_sync_to_async``,
  which closes old connections on its own, on the thread that uses them.

Relies on: Channels 4.3.2; tests/gleepost/extensions/test_channels_contract.py compares each
copied method with a digest of its source and names ``base_send`` and ``get_handler_name``.
Retired by: a consumer attribute naming the message loop ``__call__`` runs, and
``AsyncConsumer.dispatch`` leaving ``close_old_connections`` to ``database_sync_to_async``,
which already closes them around each call (no upstream issue filed yet for either).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

from realtime.dispatch import SerialDispatcher


class SerialConsumer(AsyncConsumer):
    """Channels' consumer whose messages realtime.dispatch runs in turn: the websocket's and
    the HTTP event streams' (realtime.consumer.websocket, realtime.consumer.streams)."""

    # Set in __call__.
    dispatcher: SerialDispatcher
    base_send: Any

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """``AsyncConsumer.__call__`` of Channels 4.3, with realtime.dispatch's message loop.
        (In one coroutine: every connection holds each frame of its stack while it is open.)"""
        try:
            self.scope = scope
            self.channel_layer = get_channel_layer(self.channel_layer_alias)
            sources = [receive]
            if self.channel_layer is not None:
                self.channel_name = await self.channel_layer.new_channel()
                self.channel_receive = functools.partial(
                    self.channel_layer.receive, self.channel_name
                )
                sources.append(self.channel_receive)
            self.base_send = send
            self.dispatcher = SerialDispatcher()
            self.started()
            with contextlib.suppress(StopConsumer):
                await self.dispatcher.run(sources, self.dispatch)
        finally:
            await self.ended()

    def started(self) -> None:
        """Called once the consumer has its channel and dispatcher, before its first message."""

    async def ended(self) -> None:
        """Called however the consumer ends (a handler that raised included), even before
        ``started``."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch, without its close_old_connections hop (module docstring).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    def send_without_waiting(self, message: dict[str, Any]) -> None:
        """Send ``message`` to the client now, without a task switch when the server's send
        completes in its first step, as daphne's does (realtime.dispatch)."""
        self.dispatcher.send_without_waiting(self.base_send(message))
