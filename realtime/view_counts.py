"""Coalescing of ``views`` events: at most one per post per second, the last one exact.

A burst of views on one post sends its first count at once, then at most one event per
``VIEWS_COALESCE_SECS`` window; when a window ends, the post's committed count is read from the
database and sent if it changed, so the last event of a burst carries the final count within one
window of the burst's end.

The windows are shared by every process through Redis (``SET NX PX``) when ``REDIS_URL`` is set,
so two daphne processes recording views of the same post still send one event per window; with
the in-memory channel layer (one process) they are kept in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol

from channels.db import database_sync_to_async
from django.conf import settings

from posts.models import Post
from realtime.events import views_event
from realtime.groups import post_group
from realtime.publish import publish_now, publisher

logger = logging.getLogger(__name__)

VIEWS_COALESCE_SECS = 1.0
_LAST_SENT_TTL_SECS = 60


class WindowStore(Protocol):
    async def try_open(self, post_id: int, count: int) -> bool:
        """Open the post's window and record ``count`` as sent; False if one is open."""

    async def last_sent(self, post_id: int) -> int | None:
        """The count most recently sent for the post, if known."""


class LocalWindows:
    def __init__(self) -> None:
        self._open_until: dict[int, float] = {}
        self._sent: dict[int, int] = {}

    async def try_open(self, post_id: int, count: int) -> bool:
        now = time.monotonic()
        if self._open_until.get(post_id, 0.0) > now:
            return False
        self._open_until[post_id] = now + VIEWS_COALESCE_SECS
        self._sent[post_id] = count
        # Forget posts whose windows ended long ago, so the dicts stay small.
        if len(self._open_until) > 10_000:
            stale = [p for p, until in self._open_until.items() if until < now - 60]
            for p in stale:
                self._open_until.pop(p, None)
                self._sent.pop(p, None)
        return True

    async def last_sent(self, post_id: int) -> int | None:
        return self._sent.get(post_id)


class RedisWindows:
    def __init__(self, url: str) -> None:
        self._url = url
        self._clients: dict[asyncio.AbstractEventLoop, object] = {}

    def _client(self):  # type: ignore[no-untyped-def]
        from redis import asyncio as aioredis

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = aioredis.from_url(self._url, socket_timeout=1, socket_connect_timeout=1)
            self._clients[loop] = client
        return client

    async def try_open(self, post_id: int, count: int) -> bool:
        client = self._client()
        opened = await client.set(
            f"{settings.REDIS_PREFIX}:views:window:{post_id}",
            count,
            nx=True,
            px=int(VIEWS_COALESCE_SECS * 1000),
        )
        if opened:
            await client.set(
                f"{settings.REDIS_PREFIX}:views:sent:{post_id}", count, ex=_LAST_SENT_TTL_SECS
            )
        return bool(opened)

    async def last_sent(self, post_id: int) -> int | None:
        value = await self._client().get(f"{settings.REDIS_PREFIX}:views:sent:{post_id}")
        return int(value) if value is not None else None


def current_views(post_ids: tuple[int, ...]) -> dict[int, int]:
    """The views of those of ``post_ids`` that are not deleted, in one query, in id order."""
    if not post_ids:
        return {}
    rows = Post.objects.filter(pk__in=post_ids, deleted=False).order_by("pk")
    return dict(rows.values_list("pk", "views_count"))


class ViewCountCoalescer:
    def __init__(self, store: WindowStore | None = None) -> None:
        self._store = store
        # The loop keeps only weak references to tasks: hold them until they finish.
        self._tasks: set[asyncio.Task[None]] = set()

    def _start(self, loop: asyncio.AbstractEventLoop, coroutine: Any) -> None:
        task = loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def store(self) -> WindowStore:
        if self._store is None:
            url = getattr(settings, "REDIS_URL", "")
            self._store = RedisWindows(url) if url else LocalWindows()
        return self._store

    def changed(self, counts: dict[int, int]) -> None:
        """New committed totals for some posts; callable from any thread."""
        loop = publisher.target_loop()
        for post_id, count in counts.items():
            loop.call_soon_threadsafe(self._spawn, loop, post_id, count)

    def _spawn(self, loop: asyncio.AbstractEventLoop, post_id: int, count: int) -> None:
        self._start(loop, self._note(post_id, count))

    async def _note(self, post_id: int, count: int) -> None:
        try:
            if await self.store.try_open(post_id, count):
                self._send(post_id, count)
            # Otherwise a window is open: whoever opened it reads the committed count when it
            # ends, and this change committed before that.
        except Exception:
            logger.warning("views coalescing failed for post %s", post_id, exc_info=True)

    def _send(self, post_id: int, count: int) -> None:
        event = views_event(post_id, count)
        publish_now(event, [post_group(post_id)])
        loop = asyncio.get_running_loop()
        loop.call_later(VIEWS_COALESCE_SECS, self._spawn_trailing, loop, post_id)

    def _spawn_trailing(self, loop: asyncio.AbstractEventLoop, post_id: int) -> None:
        self._start(loop, self._trailing(post_id))

    async def _trailing(self, post_id: int) -> None:
        try:
            counts = await database_sync_to_async(current_views, thread_sensitive=False)((post_id,))
            count = counts.get(post_id)
            if count is None or count == await self.store.last_sent(post_id):
                return
            if await self.store.try_open(post_id, count):
                self._send(post_id, count)
        except Exception:
            logger.warning("views trailing update failed for post %s", post_id, exc_info=True)


view_counts = ViewCountCoalescer()
