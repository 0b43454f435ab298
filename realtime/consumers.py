"""The websocket endpoint (``websockets.md``): authenticate, join groups, forward events.

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
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.utils import timezone

from accounts.actions import do_set_presence
from accounts.models import User
from conversations.selectors import Participation, participation
from gleepost.conf import gp_settings
from posts.permissions import member_network_ids, visible_post_networks
from realtime import access, events, history, metrics
from realtime.auth import authenticate
from realtime.close_codes import CLOSE_INVALID_CREDENTIALS, CLOSE_NORMAL, CLOSE_POLICY
from realtime.connection_limits import Slot, take_slot
from realtime.credential_watch import credential_watch
from realtime.dispatch import SerialDispatcher
from realtime.frames import (
    FrameError,
    Presence,
    Resume,
    Subscribe,
    Typing,
    Unsubscribe,
    parse_epoch,
    parse_frame,
    parse_since,
)
from realtime.groups import network_group, post_group, user_group
from realtime.publish import CHANNEL_MESSAGE_TYPE, publish_now
from realtime.throttling import FrameRateLimit, SlidingWindowLimit, Verdict
from realtime.view_counts import current_views

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = '{"error":"Invalid credentials"}'
RATE_LIMITED = "rate limited"
TOO_MANY_CONNECTIONS = "too many connections"


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


@database_sync_to_async
def _current_views(post_ids: tuple[int, ...]) -> dict[int, int]:
    return current_views(post_ids)


@database_sync_to_async
def _visible_post_networks(user_id: int, post_ids: tuple[int, ...]) -> dict[int, int]:
    return visible_post_networks(user_id, post_ids)


@database_sync_to_async
def _member_network_ids(user_id: int, network_ids: tuple[int, ...]) -> set[int]:
    return member_network_ids(user_id, network_ids)


_participation = database_sync_to_async(participation)
_set_presence = database_sync_to_async(do_set_presence)


_current_position = database_sync_to_async(history.current_position)
_still_valid = database_sync_to_async(access.still_valid)


@database_sync_to_async
def _position_if_still_valid(
    credential: access.Credential,
) -> tuple[history.Position, datetime] | None:
    """The stream's position and the credential's expiry, read after joining the user's
    group in one trip to the database; None if the credential ended since it was checked."""
    expiry = access.still_valid(credential)
    if expiry is None:
        return None
    return history.current_position(credential.user_id), expiry


_can_resume = database_sync_to_async(history.can_resume)
_events_after = database_sync_to_async(history.events_after)


def _resume_query(scope: dict[str, Any]) -> tuple[int, str] | FrameError | None:
    """``?since=&epoch=`` of the handshake: the position, None if absent, or what is wrong."""
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    if "since" not in query and "epoch" not in query:
        return None
    try:
        return parse_since(query.get("since", [""])[-1]), parse_epoch(query.get("epoch", [""])[-1])
    except FrameError as error:
        return error


class _Place(enum.Enum):
    """An event's position against the last one a connection sent (see ``_place``)."""

    NEXT = "next"  # the next position, or an event without one: send it
    DUPLICATE = "duplicate"  # at or below the last sent: drop it
    GAP = "gap"  # positions missing before it: replay them from the history first
    RESET = "reset"  # another epoch: the stream was reset; tell the client to resync


class EventConsumer(AsyncWebsocketConsumer):
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

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """``AsyncConsumer.__call__`` of Channels 4.3, with realtime.dispatch's message loop.
        (In one coroutine: every connection holds each frame of its stack while it is open.)"""
        attach = None
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
            attach = getattr(self.channel_layer, "attach_direct", None)
            if attach is not None:
                attach(self.channel_name, self._deliver_now)
            with contextlib.suppress(StopConsumer):
                await self.dispatcher.run(sources, self.dispatch)
        finally:
            if self.expiry_timer is not None:
                self.expiry_timer.cancel()
            if self.credential_check is not None:
                self.credential_check.cancel()
            if self.watched is not None:
                credential_watch.release(self.watched, self._check_credential)
            if attach is not None:
                self.channel_layer.detach_direct(self.channel_name)
            # Here rather than in disconnect: this runs however the connection ends, a handler
            # that raised included, so no slot outlives its connection and no subscription
            # stays counted.
            metrics.post_subscriptions.dec(len(getattr(self, "subscribed_posts", ())))
            metrics.network_subscriptions.dec(len(getattr(self, "subscribed_networks", ())))
            if self.slot is not None:
                await self.slot.release()

    def _deliver_now(self, message: dict[str, Any]) -> bool:
        """The channel layer's direct delivery (realtime.layers): forward an event now, in the
        Redis reader's turn, when that is exactly what ``realtime_event`` would do and nothing
        is queued or under way before it. Anything else (a gap to fill from the history, a
        reset stream, a control message, a connection not yet set up) is declined and takes
        the queue."""
        if self.dispatcher.busy or self.user_id is None:
            return False
        if message.get("type") != CHANNEL_MESSAGE_TYPE:
            return False
        place = self._place(message)
        if place is _Place.DUPLICATE:
            return True  # already sent (replayed, or a duplicate live copy)
        if place is not _Place.NEXT:
            return False
        self._advance_to(message)
        self._send_now(message["text"])
        metrics.delivered[message.get("event_type")].inc()
        return True

    def _send_now(self, text: str) -> None:
        """Hand ``text`` to the server without a task switch. daphne's send completes without
        waiting; a server whose send waits gets it finished on a task, with this consumer
        marked busy until then so that nothing overtakes it."""
        sending = self.base_send({"type": "websocket.send", "text": text})
        try:
            waiting = sending.send(None)
        except StopIteration:
            return
        self.dispatcher.in_hand += 1
        self._finishing = asyncio.ensure_future(self._finish_send(sending, waiting))

    async def _finish_send(self, sending: Any, waiting: Any) -> None:
        try:
            while True:
                if waiting is None:
                    await asyncio.sleep(0)
                else:
                    with contextlib.suppress(BaseException):
                        await waiting
                try:
                    waiting = sending.send(None)
                except StopIteration:
                    return
        finally:
            self.dispatcher.in_hand -= 1

    async def connect(self) -> None:
        self.user_id = None
        # Subscribed post id -> its network, so leaving a network can drop its posts.
        self.subscribed_posts: dict[int, int] = {}
        self.subscribed_networks: set[int] = set()
        self.limits = ConnectionLimits.from_settings()
        self.typing_limit = SlidingWindowLimit(gp_settings.MAX_TYPING_FRAMES_PER_SEC, 1.0)
        self.presence_limit = SlidingWindowLimit(gp_settings.MAX_PRESENCE_FRAMES_PER_SEC, 1.0)
        self.frame_limit = FrameRateLimit(
            gp_settings.MAX_FRAMES_PER_SEC,
            gp_settings.MAX_REFUSED_FRAMES,
            gp_settings.REFUSED_FRAMES_WINDOW_SECS,
        )
        # Conversation id -> (monotonic time it was read, what was read).
        self.participations: dict[int, tuple[float, Participation]] = {}
        result = await authenticate(self.scope)
        if result is None:
            await self._refuse_credentials()
            return
        user, token = result
        if token is not None:
            credential = access.Credential(user.pk, token_id=token.pk)
        else:
            credential = access.Credential(user.pk, session_key=self.scope["session"].session_key)
        self.slot = await take_slot(user.pk, self.channel_name)
        if self.slot is None:
            metrics.count_error("too_many_connections")
            await self.accept()
            await self._send_event(events.error_event(TOO_MANY_CONNECTIONS))
            await self.close(code=CLOSE_POLICY)
            return
        # Join, then check the credential again and read the position, in one trip: a
        # revocation committed before that read is seen by the check, one committed after it
        # reaches this connection through the group (realtime.access). Every event committed
        # after the read is published after the join, so it arrives live; those committed
        # before it are at or below the position, and their live copies (queued meanwhile: the
        # dispatcher is busy until connect returns) are dropped as already sent. The
        # connection starts at the position without reading the history. Joining before
        # accepting: once the client sees the socket open, every event for the user reaches it
        # (a REST call made right after "open" cannot race the join).
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        state = await _position_if_still_valid(credential)
        if state is None:
            await self.channel_layer.group_discard(user_group(user.pk), self.channel_name)
            await self._refuse_credentials()
            return
        position, expiry = state
        # Ids only, not the User instance: each connection would hold it (and its fields) for
        # its lifetime (bench/README.md, "Memory per connection").
        self.user_id = user.pk
        self.credential = credential
        self._end_at(expiry)
        self.watched = credential
        credential_watch.hold(credential, self._check_credential)
        self.connected_seq = position.seq
        self.delivered_seq = position.seq
        self.epoch = position.epoch
        await self.accept()
        resume = _resume_query(self.scope)
        if isinstance(resume, FrameError):
            metrics.count_error("frame")
            await self._send_event(events.error_event(resume.reason))
            await self._resync()
        elif resume is not None:
            await self._resume(*resume)

    async def _refuse_credentials(self) -> None:
        """The protocol's answer to bad credentials: accept, say why, close with 4001."""
        metrics.count_error("invalid_credentials")
        await self.accept()
        await self.send(text_data=INVALID_CREDENTIALS)
        await self.close(code=CLOSE_INVALID_CREDENTIALS)

    async def disconnect(self, code: int) -> None:
        await self._leave_everything()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None:
            return  # refused at connect or closed since; the close is under way
        verdict = self.frame_limit.check()
        if verdict is not Verdict.ACT:
            await self._refuse_frame(verdict)
            return
        try:
            action = parse_frame(text_data, bytes_data)
        except FrameError as error:
            metrics.count_error("frame")
            await self._send_event(events.error_event(error.reason))
            return
        if isinstance(action, Subscribe):
            await self._subscribe(action)
        elif isinstance(action, Unsubscribe):
            await self._unsubscribe(action)
        elif isinstance(action, Resume):
            await self._resume(action.since, action.epoch)
        elif isinstance(action, Typing):
            await self._typing(action)
        elif isinstance(action, Presence):
            await self._presence(action)

    async def _refuse_frame(self, verdict: Verdict) -> None:
        """A frame past MAX_FRAMES_PER_SEC: not acted on, answered at most once a second."""
        if verdict is Verdict.REFUSE:
            return
        metrics.count_error("rate_limited")
        await self._send_event(events.error_event(RATE_LIMITED))
        if verdict is Verdict.CLOSE:
            await self._leave_everything()
            await self.close(code=CLOSE_POLICY)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch first runs close_old_connections in the database thread, for
        # every message: for an event forwarded as is that thread hop cost more than the send
        # itself (bench/results), and it was one of a handshake's three hops (bench/README.md,
        # "Handshakes"). Every database call here goes through database_sync_to_async, which
        # closes old connections on its own, before and after, on the thread that uses them.
        if message["type"] == CHANNEL_MESSAGE_TYPE:
            await self.realtime_event(message)
            return
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def realtime_event(self, message: dict[str, Any]) -> None:
        """A pre-serialized event from the channel layer, forwarded as is."""
        place = self._place(message)
        if place is _Place.DUPLICATE:
            return  # already sent (replayed, or a duplicate live copy)
        if place is _Place.RESET:
            # The stream was reset under us (its history lost): the client must refetch,
            # then go on from this event, the new epoch's position seq - 1.
            self.epoch = message["epoch"]
            self.delivered_seq = message["seq"] - 1
            await self._send_event(events.resync_required_event(self.delivered_seq, self.epoch))
        elif place is _Place.GAP:
            await self._replay(self.delivered_seq, up_to=message["seq"] - 1)
        self._advance_to(message)
        await self.send(text_data=message["text"])
        metrics.delivered[message.get("event_type")].inc()

    def _place(self, message: dict[str, Any]) -> _Place:
        """Where an event stands against what this connection has sent. Both delivery paths
        (the queue's ``realtime_event`` and the layer's ``_deliver_now``) decide by this."""
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

    # Resuming

    async def _resume(self, since: int, epoch: str) -> None:
        """Replay what the client missed before this connection, or tell it to resync.

        This connection has sent, in order, every stream event after its position at connect;
        a resume adds (since, position at connect] in front of them. That is only possible in
        order while none has been sent yet: a RESUME frame that comes later than that, for
        events before the connection, gets resync-required instead of an out-of-order replay.
        """
        assert self.user_id is not None
        connected_seq = self.connected_seq
        stale = await _can_resume(self.user_id, since, epoch)
        if stale is None and since >= connected_seq:
            return  # the client already has everything this connection has not sent
        if stale is not None or self.delivered_seq > connected_seq:
            await self._resync()
            return
        await self._replay(since, up_to=connected_seq, advance=False)

    async def _resync(self) -> None:
        assert self.user_id is not None
        position = await _current_position(self.user_id)
        # Everything up to here the client will refetch over REST; later events come live.
        self.epoch = position.epoch
        self.delivered_seq = max(self.delivered_seq, position.seq)
        await self._send_event(events.resync_required_event(position.seq, position.epoch))

    async def _replay(self, since: int, up_to: int | None = None, *, advance: bool = True) -> None:
        assert self.user_id is not None
        cursor = since
        while True:
            batch = await _events_after(self.user_id, cursor, up_to)
            for seq, event_type, text in batch:
                await self.send(text_data=text)
                metrics.delivered[event_type].inc()
                cursor = seq
            if advance:
                self.delivered_seq = max(self.delivered_seq, cursor)
            if len(batch) < history.REPLAY_BATCH:
                return

    # Access that ends while connected

    async def realtime_post_removed(self, message: dict[str, Any]) -> None:
        """The post was deleted: its subscribers hear nothing more about it."""
        await self._drop_posts([message["post"]])

    async def realtime_network_left(self, message: dict[str, Any]) -> None:
        """The user left or was removed from a network: drop it and its posts' subscriptions."""
        network_id = message["network"]
        await self._drop_posts([p for p, n in self.subscribed_posts.items() if n == network_id])
        await self._drop_networks([network_id])

    async def realtime_conversation_changed(self, message: dict[str, Any]) -> None:
        """Someone joined or left the conversation, or it ended: read it afresh for typing."""
        self.participations.pop(message["conversation"], None)

    async def realtime_credentials_revoked(self, message: dict[str, Any]) -> None:
        """Credentials of the user ended (realtime.access): if this connection's is one, it
        ends with 4001."""
        if self.credential is not None and self.credential.ended_by(message):
            await self._end_access()

    async def realtime_credential_check(self, message: dict[str, Any]) -> None:
        """The credential's expiry came (``_end_at``), or this process's credential watch saw
        it end: end the connection, unless the database says it is still valid (a session
        renewed by a later request)."""
        if self.credential is None:
            return
        expiry = await _still_valid(self.credential)
        if expiry is None:
            await self._end_access()
        else:
            self._end_at(expiry)

    def _end_at(self, expiry: datetime) -> None:
        """Look at the credential again when it expires."""
        if self.expiry_timer is not None:
            self.expiry_timer.cancel()
        delay = max(0.0, (expiry - timezone.now()).total_seconds())
        self.expiry_timer = asyncio.get_running_loop().call_later(delay, self._check_credential)

    def _check_credential(self) -> None:
        """Look at the credential again, in turn with the connection's other messages; once
        at a time."""
        if self.credential_check is not None and not self.credential_check.done():
            return
        # Held until it is done: the loop keeps only a weak reference to a task.
        self.credential_check = self.dispatcher.dispatch_soon(
            {"type": "realtime.credential_check"}, self.dispatch
        )

    async def _end_access(self) -> None:
        self.credential = None
        await self._leave_everything()
        await self.send(text_data=INVALID_CREDENTIALS)
        await self.close(code=CLOSE_INVALID_CREDENTIALS)

    # Subscriptions

    async def _subscribe(self, action: Subscribe) -> None:
        """Members only; a frame that would pass a limit is refused whole."""
        posts = [p for p in action.posts if p not in self.subscribed_posts]
        networks = [n for n in action.networks if n not in self.subscribed_networks]
        limits = self.limits
        if len(self.subscribed_posts) + len(posts) > limits.post_subscriptions:
            metrics.count_error("subscription_limit")
            await self._send_event(
                events.error_event(
                    f"at most {limits.post_subscriptions} subscriptions per connection"
                )
            )
            return
        if len(self.subscribed_networks) + len(networks) > limits.network_subscriptions:
            metrics.count_error("subscription_limit")
            await self._send_event(
                events.error_event(
                    f"at most {limits.network_subscriptions} network subscriptions per connection"
                )
            )
            return
        if posts:
            await self._subscribe_posts(posts)
        if networks:
            await self._subscribe_networks(networks)

    async def _subscribe_posts(self, wanted: list[int]) -> None:
        assert self.user_id is not None
        allowed = await _visible_post_networks(self.user_id, tuple(wanted))
        for post_id in wanted:
            if post_id in allowed:
                await self.channel_layer.group_add(post_group(post_id), self.channel_name)
                self.subscribed_posts[post_id] = allowed[post_id]
                metrics.post_subscriptions.inc()
        refused = [p for p in wanted if p not in allowed]
        if refused:
            # The same answer for a post that does not exist and one the user may not see.
            await self._send_event(events.not_allowed_posts_event(refused))
        # The current counts at once, read after joining: a client never shows a stale number
        # until the next view, and any later change arrives after these.
        counts = await _current_views(tuple(p for p in wanted if p in allowed))
        for post_id, views in counts.items():
            await self._send_event(events.views_event(post_id, views))

    async def _subscribe_networks(self, wanted: list[int]) -> None:
        assert self.user_id is not None
        allowed = await _member_network_ids(self.user_id, tuple(wanted))
        for network_id in wanted:
            if network_id in allowed:
                await self.channel_layer.group_add(network_group(network_id), self.channel_name)
                self.subscribed_networks.add(network_id)
                metrics.network_subscriptions.inc()
        refused = [n for n in wanted if n not in allowed]
        if refused:
            await self._send_event(events.not_allowed_networks_event(refused))

    async def _unsubscribe(self, action: Unsubscribe) -> None:
        if action.everything:
            await self._leave_everything()
            await self.close(code=CLOSE_NORMAL)
            return
        await self._drop_posts(action.posts)
        await self._drop_networks(action.networks)

    async def _drop_posts(self, post_ids: Iterable[int]) -> None:
        for post_id in post_ids:
            if self.subscribed_posts.pop(post_id, None) is not None:
                metrics.post_subscriptions.dec()
                await self.channel_layer.group_discard(post_group(post_id), self.channel_name)

    async def _drop_networks(self, network_ids: Iterable[int]) -> None:
        for network_id in network_ids:
            if network_id in self.subscribed_networks:
                self.subscribed_networks.discard(network_id)
                metrics.network_subscriptions.dec()
                await self.channel_layer.group_discard(network_group(network_id), self.channel_name)

    # Typing and presence: live-only, never stored. Frames over the rate limit are dropped
    # silently (see realtime.throttling); a dropped "typing": false is superseded by the
    # sender's next frame, and clients let an indicator lapse after a few seconds anyway.

    async def _typing(self, action: Typing) -> None:
        """Tell the conversation's other participants; never the sender's own connections."""
        if not self.typing_limit.allow():
            return
        assert self.user_id is not None
        standing = await self._participation(action.conversation)
        if not standing.participant:
            # The same answer for a conversation that does not exist.
            reason = "not allowed"
        elif not standing.is_open(timezone.now()):
            reason = "conversation has ended"
        else:
            event = events.typing_event(action.conversation, self.user_id, action.typing)
            publish_now(event, [user_group(u) for u in standing.others])
            return
        await self._send_event(events.conversation_refused_event(action.conversation, reason))

    async def _participation(self, conversation_id: int) -> Participation:
        assert self.user_id is not None
        now = time.monotonic()
        trusted_secs = self.limits.participation_cache_secs
        cached = self.participations.get(conversation_id)
        if cached is not None and now - cached[0] < trusted_secs:
            return cached[1]
        standing = await _participation(self.user_id, conversation_id)
        if len(self.participations) >= self.limits.cached_conversations:
            self.participations = {
                c: entry
                for c, entry in self.participations.items()
                if now - entry[0] < trusted_secs
            }
        self.participations[conversation_id] = (now, standing)
        return standing

    async def _presence(self, action: Presence) -> None:
        """Store it on the user; realtime.receivers tells those who share a conversation."""
        if self.presence_limit.allow():
            # A User with only its id: what do_set_presence writes by (no query to read it).
            await _set_presence(User(pk=self.user_id), action.form)

    async def _leave_everything(self) -> None:
        if self.user_id is None:
            return
        for post_id in list(getattr(self, "subscribed_posts", ())):
            await self.channel_layer.group_discard(post_group(post_id), self.channel_name)
        metrics.post_subscriptions.dec(len(self.subscribed_posts))
        self.subscribed_posts = {}
        for network_id in list(getattr(self, "subscribed_networks", ())):
            await self.channel_layer.group_discard(network_group(network_id), self.channel_name)
        metrics.network_subscriptions.dec(len(self.subscribed_networks))
        self.subscribed_networks = set()
        await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
        self.user_id = None

    async def _send_event(self, event: events.Event) -> None:
        await self.send(text_data=event.text)
        metrics.delivered[event.type].inc()
