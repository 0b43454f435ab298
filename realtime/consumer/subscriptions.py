"""Subscriptions (``websockets.md``): a connection's posts and networks, members only.

A SUBSCRIBE that would take a connection past ``MAX_SUBSCRIPTIONS_PER_CONNECTION`` posts or
``MAX_NETWORK_SUBSCRIPTIONS_PER_CONNECTION`` networks is refused whole (issue 5, Limits). Access
that ends while connected drops what it covered: a deleted post, a network the user left.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from channels.db import database_sync_to_async

from posts.permissions import member_network_ids, visible_post_networks
from realtime import events, metrics
from realtime.close_codes import CLOSE_NORMAL
from realtime.consumer.state import ConnectionState
from realtime.frames import Subscribe, Unsubscribe
from realtime.groups import network_group, post_group, user_group
from realtime.view_counts import current_views


@database_sync_to_async
def _current_views(post_ids: tuple[int, ...]) -> dict[int, int]:
    return current_views(post_ids)


@database_sync_to_async
def _visible_post_networks(user_id: int, post_ids: tuple[int, ...]) -> dict[int, int]:
    return visible_post_networks(user_id, post_ids)


@database_sync_to_async
def _member_network_ids(user_id: int, network_ids: tuple[int, ...]) -> set[int]:
    return member_network_ids(user_id, network_ids)


class SubscriptionsMixin(ConnectionState):
    """Joins and leaves the groups of posts and networks; leaves every group at the end."""

    async def _subscribe(self, action: Subscribe) -> None:
        """Members only; a frame that would pass a limit is refused whole."""
        posts = [p for p in action.posts if p not in self.subscribed_posts]
        networks = [n for n in action.networks if n not in self.subscribed_networks]
        limits = self.limits
        for held, wanted, limit, what in (
            (len(self.subscribed_posts), posts, limits.post_subscriptions, "subscriptions"),
            (
                len(self.subscribed_networks),
                networks,
                limits.network_subscriptions,
                "network subscriptions",
            ),
        ):
            if held + len(wanted) > limit:
                metrics.count_error("subscription_limit")
                await self._send_event(events.error_event(f"at most {limit} {what} per connection"))
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
            await self._end(CLOSE_NORMAL)
            return
        await self._drop_posts(action.posts)
        await self._drop_networks(action.networks)

    # Access that ends while connected

    async def realtime_post_removed(self, message: dict[str, Any]) -> None:
        """The post was deleted: its subscribers hear nothing more about it."""
        await self._drop_posts([message["post"]])

    async def realtime_network_left(self, message: dict[str, Any]) -> None:
        """The user left or was removed from a network: drop it and its posts' subscriptions."""
        network_id = message["network"]
        await self._drop_posts([p for p, n in self.subscribed_posts.items() if n == network_id])
        await self._drop_networks([network_id])

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
