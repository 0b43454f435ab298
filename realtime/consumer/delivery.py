"""The consumer's message loop and the forwarding of events (``websockets.md``): the hot path.

Stream events (those with a ``seq``) are delivered without gap or duplicate: a connection knows
the last position it sent, drops live copies at or below it (the seam after a replay), and reads
any it missed from the history before sending a later one (a publish lost while Redis was away).

An event reaches ``_forward_in_order`` by one of two doors: the channel layer's direct delivery
(``_deliver_now``, in the Redis reader's turn, gleepost.extensions.channels_redis) when nothing is
queued or under way, and the queue (``realtime_event``) for everything else. That one method
decides, sends and counts; only what it cannot do without waiting (a gap to replay from the history,
a reset stream) is left to the queue. Events arrive already serialized and are forwarded as text.

The message loop is realtime.dispatch's, run by gleepost.extensions.channels.SerialConsumer
(copies of Channels' ``__call__`` and ``dispatch``: docs/frameworks.md, rows 18 and 19); here
are its hooks: attaching direct delivery when it starts, and freeing what the connection holds
however it ends.
"""

from __future__ import annotations

import enum
from typing import Any

from realtime import events, metrics
from realtime.consumer.credentials import CredentialsMixin
from realtime.consumer.resume import ResumeMixin
from realtime.credential_watch import credential_watch
from realtime.publish import CHANNEL_MESSAGE_TYPE


class _Place(enum.Enum):
    """An event's position against the last one a connection sent (see ``_place``)."""

    NEXT = "next"  # the next position, or an event without one: send it
    DUPLICATE = "duplicate"  # at or below the last sent: drop it
    GAP = "gap"  # positions missing before it: replay them from the history first
    RESET = "reset"  # another epoch: the stream was reset; tell the client to resync


class DeliveryMixin(ResumeMixin, CredentialsMixin):
    """Runs the connection's messages in turn and forwards events to the client."""

    def started(self) -> None:
        attach = getattr(self.channel_layer, "attach_direct", None)
        if attach is not None:
            attach(self.channel_name, self._deliver_now)

    async def ended(self) -> None:
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
        if self.credential_check is not None:
            self.credential_check.cancel()
        if self.watched is not None:
            credential_watch.release(self.watched, self._check_credential)
        if hasattr(self, "dispatcher"):  # started: it has its channel layer and channel
            detach = getattr(self.channel_layer, "detach_direct", None)
            if detach is not None:
                detach(self.channel_name)
        # Here rather than in disconnect: this runs however the connection ends, a handler
        # that raised included, so no slot outlives its connection and no subscription
        # stays counted.
        metrics.post_subscriptions.dec(len(getattr(self, "subscribed_posts", ())))
        metrics.network_subscriptions.dec(len(getattr(self, "subscribed_networks", ())))
        if self.slot is not None:
            await self.slot.release()
        await super().ended()

    def _deliver_now(self, message: dict[str, Any]) -> bool:
        """The channel layer's direct delivery (gleepost.extensions.channels_redis): take an
        event now, in the Redis reader's turn, when nothing is queued or under way before it;
        decline (it takes the queue) what ``_forward_in_order`` cannot forward at once, a
        control message, or anything before the connection is set up."""
        if self.dispatcher.busy or self.user_id is None:
            return False
        if message.get("type") != CHANNEL_MESSAGE_TYPE:
            return False
        return self._forward_in_order(message)

    def _forward_in_order(self, message: dict[str, Any]) -> bool:
        """Forward an event that comes next in this connection's stream (or has no position),
        or drop one it has sent already: True. False, having done nothing, for an event with a
        gap before it or from another epoch: that needs waiting (``realtime_event``)."""
        place = self._place(message)
        if place is _Place.DUPLICATE:
            return True  # already sent (replayed, or a duplicate live copy)
        if place is not _Place.NEXT:
            return False
        self._forward(message)
        return True

    def _forward(self, message: dict[str, Any]) -> None:
        self._advance_to(message)
        event_type = message.get("event_type")
        self._send_text(message["text"], event_type, message.get("seq"))
        metrics.delivered[event_type].inc()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Events, most of what a connection handles, without looking their handler up.
        if message["type"] == CHANNEL_MESSAGE_TYPE:
            await self.realtime_event(message)
            return
        await super().dispatch(message)

    async def realtime_event(self, message: dict[str, Any]) -> None:
        """A pre-serialized event from the channel layer, forwarded as is."""
        if self._forward_in_order(message):
            return
        if self._place(message) is _Place.RESET:
            # The stream was reset under us (its history lost): the client must refetch,
            # then go on from this event, the new epoch's position seq - 1.
            self.epoch = message["epoch"]
            self.delivered_seq = message["seq"] - 1
            await self._send_event(
                events.resync_required_event(self.delivered_seq, self.epoch),
                seq=self.delivered_seq,
            )
        else:  # a gap
            await self._replay(self.delivered_seq, up_to=message["seq"] - 1)
        self._forward(message)

    def _place(self, message: dict[str, Any]) -> _Place:
        """Where an event stands against what this connection has sent."""
        seq = message.get("seq")
        if seq is None:
            return _Place.NEXT  # live-only: no position
        if message.get("epoch") != self.epoch:
            return _Place.RESET
        if seq <= self.delivered_seq:
            return _Place.DUPLICATE
        if seq > self.delivered_seq + 1:
            return _Place.GAP
        return _Place.NEXT

    def _advance_to(self, message: dict[str, Any]) -> None:
        seq = message.get("seq")
        if seq is not None:
            self.delivered_seq = seq
