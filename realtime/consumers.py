"""The websocket endpoint (``websockets.md``): authenticate, join groups, forward events.

Thin on purpose: events arrive from the channel layer already serialized and are forwarded as
text; client frames are parsed by ``realtime.frames``; database work is in small helpers.

Stream events (those with a ``seq``) are delivered without gap or duplicate: a connection knows
the last position it sent, drops live copies at or below it (the seam after a replay), and reads
any it missed from the history before sending a later one (a publish lost while Redis was away).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from posts.permissions import visible_post_networks
from realtime import events, history
from realtime.auth import authenticate
from realtime.frames import (
    FrameError,
    Resume,
    Subscribe,
    Unsubscribe,
    parse_epoch,
    parse_frame,
    parse_since,
)
from realtime.groups import post_group, user_group

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = '{"error":"Invalid credentials"}'
CLOSE_INVALID_CREDENTIALS = 4001
CLOSE_NORMAL = 1000
MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000


@database_sync_to_async
def _visible_post_networks(user_id: int, post_ids: tuple[int, ...]) -> dict[int, int]:
    return visible_post_networks(user_id, post_ids)


_current_position = database_sync_to_async(history.current_position)
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


class EventConsumer(AsyncWebsocketConsumer):
    user_id: int | None = None
    token_id: int | None = None

    async def connect(self) -> None:
        self.user_id = None
        # Subscribed post id -> its network, so leaving a network can drop its posts.
        self.subscribed_posts: dict[int, int] = {}
        result = await authenticate(self.scope)
        if result is None:
            # The protocol's answer to bad credentials: accept, say why, close with 4001.
            await self.accept()
            await self.send(text_data=INVALID_CREDENTIALS)
            await self.close(code=CLOSE_INVALID_CREDENTIALS)
            return
        user, token = result
        self.user_id = user.pk
        self.token_id = token.pk if token is not None else None
        # The position before joining: anything committed from here on is either replayed
        # below or arrives live after the join.
        before_join = await _current_position(user.pk)
        self.connected_at = before_join
        self.delivered_seq = before_join.seq
        self.epoch = before_join.epoch
        # Join before accepting: once the client sees the socket open, every event for the
        # user reaches it (a REST call made right after "open" cannot race the join).
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await self.accept()
        resume = _resume_query(self.scope)
        if isinstance(resume, FrameError):
            await self._send_event(events.error_event(resume.reason))
            await self._resync()
        elif resume is not None:
            await self._resume(*resume)
        else:
            await self._replay(before_join.seq)

    async def disconnect(self, code: int) -> None:
        await self._leave_everything()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None:
            return  # refused at connect; the close is under way
        try:
            action = parse_frame(text_data, bytes_data)
        except FrameError as error:
            await self._send_event(events.error_event(error.reason))
            return
        if isinstance(action, Subscribe):
            await self._subscribe(action.posts)
        elif isinstance(action, Unsubscribe):
            await self._unsubscribe(action.posts)
        elif isinstance(action, Resume):
            await self._resume(action.since, action.epoch)

    async def realtime_event(self, message: dict[str, Any]) -> None:
        """A pre-serialized event from the channel layer, forwarded as is."""
        seq = message.get("seq")
        if seq is not None:
            if message.get("epoch") != self.epoch:
                # The stream was reset under us: follow the new epoch from this event on.
                self.epoch = message["epoch"]
            elif seq <= self.delivered_seq:
                return  # already sent (replayed, or a duplicate live copy)
            elif seq > self.delivered_seq + 1:
                await self._replay(self.delivered_seq, up_to=seq - 1)
            self.delivered_seq = seq
        await self.send(text_data=message["text"])

    # Resuming

    async def _resume(self, since: int, epoch: str) -> None:
        """Replay what the client missed before this connection, or tell it to resync.

        Events of this connection's own lifetime have been (or are being) sent live; the
        replay covers (since, position at connect].
        """
        assert self.user_id is not None
        stale = await _can_resume(self.user_id, since, epoch)
        if stale is not None:
            await self._resync()
            return
        await self._replay(since, up_to=self.connected_at.seq, advance=False)

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
            for seq, text in batch:
                await self.send(text_data=text)
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
        """The user left or was removed from a network: drop its posts' subscriptions."""
        network_id = message["network"]
        await self._drop_posts([p for p, n in self.subscribed_posts.items() if n == network_id])

    async def realtime_tokens_revoked(self, message: dict[str, Any]) -> None:
        """Logout or password change: connections opened with those tokens end (4001)."""
        if self.token_id is not None and self.token_id in message["tokens"]:
            await self._leave_everything()
            await self.send(text_data=INVALID_CREDENTIALS)
            await self.close(code=CLOSE_INVALID_CREDENTIALS)

    # Post subscriptions

    async def _subscribe(self, post_ids: tuple[int, ...]) -> None:
        wanted = [p for p in post_ids if p not in self.subscribed_posts]
        if len(self.subscribed_posts) + len(wanted) > MAX_SUBSCRIPTIONS_PER_CONNECTION:
            await self._send_event(
                events.error_event(
                    f"at most {MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection"
                )
            )
            return
        assert self.user_id is not None
        allowed = await _visible_post_networks(self.user_id, tuple(wanted)) if wanted else {}
        for post_id in wanted:
            if post_id in allowed:
                await self.channel_layer.group_add(post_group(post_id), self.channel_name)
                self.subscribed_posts[post_id] = allowed[post_id]
        refused = [p for p in wanted if p not in allowed]
        if refused:
            # The same answer for a post that does not exist and one the user may not see.
            await self._send_event(events.not_allowed_posts_event(refused))

    async def _unsubscribe(self, post_ids: tuple[int, ...]) -> None:
        if not post_ids:
            await self._leave_everything()
            await self.close(code=CLOSE_NORMAL)
            return
        await self._drop_posts(post_ids)

    async def _drop_posts(self, post_ids: Iterable[int]) -> None:
        for post_id in post_ids:
            if self.subscribed_posts.pop(post_id, None) is not None:
                await self.channel_layer.group_discard(post_group(post_id), self.channel_name)

    async def _leave_everything(self) -> None:
        if self.user_id is None:
            return
        for post_id in list(getattr(self, "subscribed_posts", ())):
            await self.channel_layer.group_discard(post_group(post_id), self.channel_name)
        self.subscribed_posts = {}
        await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
        self.user_id = None

    async def _send_event(self, event: events.Event) -> None:
        await self.send(text_data=event.text)
