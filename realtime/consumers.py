"""The websocket endpoint (``websockets.md``): authenticate, join groups, forward events.

Thin on purpose: events arrive from the channel layer already serialized and are forwarded as
text; client frames are parsed by ``realtime.frames``; database work is in small helpers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from posts.permissions import visible_post_networks
from realtime import events
from realtime.auth import authenticate
from realtime.frames import FrameError, Subscribe, Unsubscribe, parse_frame
from realtime.groups import post_group, user_group

logger = logging.getLogger(__name__)

INVALID_CREDENTIALS = '{"error":"Invalid credentials"}'
CLOSE_INVALID_CREDENTIALS = 4001
CLOSE_NORMAL = 1000
MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000


@database_sync_to_async
def _visible_post_networks(user_id: int, post_ids: tuple[int, ...]) -> dict[int, int]:
    return visible_post_networks(user_id, post_ids)


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
        # Join before accepting: once the client sees the socket open, every event for the
        # user reaches it (a REST call made right after "open" cannot race the join).
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await self.accept()

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

    async def realtime_event(self, message: dict[str, Any]) -> None:
        """A pre-serialized event from the channel layer, forwarded as is."""
        await self.send(text_data=message["text"])

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
