"""A queue per websocket connection that costs a few bytes while idle: daphne's of what the
client sends (gleepost.extensions.daphne).

It would be an ``asyncio.Queue``, which allocates three deques and an ``Event`` with a
fourth: ~3 KiB per connection before any message arrives, a tenth of what an idle connection
cost (bench/README.md, "Memory per connection"). Most of the time it holds nothing (clients
rarely send), so this one holds its messages in a deque only
while some wait, and a future only while its reader waits; otherwise it behaves as
``asyncio.Queue`` does for what they use: ``put_nowait``, ``get``, ``get_nowait``, ``empty``
and ``qsize``, first in first out, and a woken reader that is cancelled passes the wake-up on
to the next.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any


class ChannelQueue:
    __slots__ = ("_items", "_waiters")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiters: list[asyncio.Future[None]] | None = None

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self._wake_next()

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        item = self._items.popleft()
        if not self._items:
            self._items = None  # the deque's block goes back with the backlog
        return item

    async def get(self) -> Any:
        while not self._items:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                waiter.cancel()
                if self._waiters is not None:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                if self._items and not waiter.cancelled():
                    # Woken for an item, then cancelled: another reader takes it.
                    self._wake_next()
                raise
        return self.get_nowait()

    def _wake_next(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                break
        if not waiters:
            self._waiters = None
