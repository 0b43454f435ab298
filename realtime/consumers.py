"""The websocket endpoint (``websockets.md``) and its HTTP transports, Server-Sent Events and
the long-poll (realtime.consumer.streams): authenticate, join groups, forward events.

Thin on purpose: events arrive from the channel layer already serialized and are forwarded as
text; client frames are parsed by ``realtime.frames``; database work is in small helpers.
Subscriptions (posts and networks) are members-only; ``typing`` and ``presence`` frames are
rate-limited per connection (``realtime.throttling``) and never stored.

Hostile clients (issue 5, Limits): every client frame counts against ``MAX_FRAMES_PER_SEC``, and
a connection that keeps sending past it is closed with 4008; so is one that would take its user
past ``MAX_CONNECTIONS_PER_USER`` (``realtime.connection_limits``).

Stream events (those with a ``seq``) are delivered without gap or duplicate: a connection knows
the last position it sent, drops live copies at or below it (the seam after a replay), and reads
any it missed from the history before sending a later one (a publish lost while Redis was away).

The consumer is composed of its parts, one module per concern in ``realtime.consumer``: the
handshake, delivery (the message loop), credentials ending while connected, resume,
subscriptions and client frames. What a connection holds is declared in
``realtime.consumer.state``; the parts add methods only.
"""

from __future__ import annotations

from realtime.consumer.client_frames import ClientFramesMixin
from realtime.consumer.delivery import DeliveryMixin
from realtime.consumer.handshake import HandshakeMixin
from realtime.consumer.streams import LongPollTransport, SseTransport
from realtime.consumer.websocket import WebsocketTransport


class EventConsumer(HandshakeMixin, ClientFramesMixin, DeliveryMixin, WebsocketTransport):
    """One websocket connection of the realtime endpoint (realtime.routing)."""


class EventStreamConsumer(HandshakeMixin, DeliveryMixin, SseTransport):
    """One Server-Sent Events stream, ``GET /api/v1/events`` (realtime.routing)."""


class LongPollConsumer(HandshakeMixin, DeliveryMixin, LongPollTransport):
    """One long-poll, ``GET /api/v1/longpoll`` (realtime.routing)."""
