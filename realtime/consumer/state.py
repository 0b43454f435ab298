"""What one connection holds (``realtime.consumers``: a websocket, an SSE stream or a long-poll),
declared once for every part of the consumer (``realtime.consumer``), the limits it reads when it
opens, and the transport's methods each part calls to reach the client.

Memory per connection is a measured figure (bench/README.md, "Memory per connection"): the
attributes declared here are every one a connection holds; the parts add methods only. Ids are
held, not model instances (each connection would keep them, and their fields, while it is open).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from conversations.selectors import Participation
from gleepost.conf import gp_settings
from gleepost.extensions.channels import SerialConsumer
from realtime import access, events, metrics
from realtime.connection_limits import Slot
from realtime.frames import FrameError
from realtime.throttling import FrameRateLimit, SlidingWindowLimit


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """Settings (gleepost.conf) a connection checks its subscriptions and typing against, read
    once when it opens: ``gp_settings`` looks a setting up again on every access."""

    post_subscriptions: int
    network_subscriptions: int
    participation_cache_secs: float
    cached_conversations: int

    @classmethod
    def from_settings(cls) -> ConnectionLimits:
        """The limits as configured now."""
        return cls(
            post_subscriptions=gp_settings.MAX_SUBSCRIPTIONS_PER_CONNECTION,
            network_subscriptions=gp_settings.MAX_NETWORK_SUBSCRIPTIONS_PER_CONNECTION,
            participation_cache_secs=gp_settings.PARTICIPATION_CACHE_SECS,
            cached_conversations=gp_settings.MAX_CACHED_CONVERSATIONS,
        )


class ConnectionState(SerialConsumer):
    """A connection's state; the parts of the consumer build on it."""

    user_id: int | None = None
    # What the connection was opened with, the timer that looks at it again when it expires,
    # the look under way, and what this process's credential watch was given.
    credential: access.Credential | None = None
    expiry_timer: asyncio.TimerHandle | None = None
    credential_check: asyncio.Task[None] | None = None
    watched: access.Credential | None = None
    slot: Slot | None = None
    # Set in connect, after the join: the stream position sent up to, and its epoch. Events
    # that arrive in between are queued (the dispatcher is busy with connect) and placed after.
    delivered_seq: int
    epoch: str
    # The position at connect: a resume replays up to it (realtime.consumer.resume).
    connected_seq: int
    # Set at the start of connect (annotations only: no class attribute, so ``getattr(self,
    # "subscribed_posts", ())`` tells a connection that never got that far).
    # Subscribed post id -> its network, so leaving a network can drop its posts.
    subscribed_posts: dict[int, int]
    subscribed_networks: set[int]
    limits: ConnectionLimits
    typing_limit: SlidingWindowLimit
    presence_limit: SlidingWindowLimit
    frame_limit: FrameRateLimit
    # Conversation id -> (monotonic time it was read, what was read).
    participations: dict[int, tuple[float, Participation]]
    # And what SerialConsumer sets in __call__ (gleepost.extensions.channels).

    # The transport: what differs between a websocket (realtime.consumer.websocket) and an
    # HTTP event stream (realtime.consumer.streams). Everything else is shared.

    async def _open(self) -> None:
        """Tell the client its connection is open (the credential held): events follow."""
        raise NotImplementedError

    def _send_text(self, text: str, event_type: str | None, seq: int | None) -> None:
        """Send an event's JSON ``text`` now, in order with every other send; ``seq``: its
        position on the user's stream, in ``self.epoch`` (None for a live-only event)."""
        raise NotImplementedError

    async def _refuse(self, code: int, notice: str) -> None:
        """Refuse a connection that was never opened, saying why (``notice``) and with which
        of the protocol's close codes (realtime.close_codes)."""
        raise NotImplementedError

    async def _end(self, code: int, notice: str | None = None) -> None:
        """End an open connection with a close code, after ``notice`` if any."""
        raise NotImplementedError

    def _resume_asked(self) -> tuple[int, str] | FrameError | None:
        """The position the client asked to resume from when it connected (``since``,
        ``epoch``), None if it did not, or what is wrong with what it sent."""
        raise NotImplementedError

    async def _opened(self) -> None:
        """What the transport does once the connection is open and resumed."""

    async def _send_event(self, event: events.Event, seq: int | None = None) -> None:
        """Send one of the server's own events (``seq``: the position a ``resync-required``
        sets the client at)."""
        self._send_text(event.text, event.type, seq)
        metrics.delivered[event.type].inc()
