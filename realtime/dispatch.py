"""A consumer's message loop without a task and an ``asyncio.wait`` per message.

Channels' ``await_many_dispatch`` waits on its sources with ``asyncio.wait`` and starts a new
task for each message; under the broadcast benchmark that bookkeeping was a fifth of daphne's
time (bench/results). Here each source has one long-lived reader task, and a lock keeps what
Channels promises: one handler at a time per consumer, each source's messages in order, and a
source read again only once its previous message was handled.

``busy`` tells the channel layer's direct delivery (``realtime.layers``) whether a message is
being handled or waits to be: only when none is may an event bypass the queue, so that events
never overtake each other or a handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Source = Callable[[], Awaitable[Any]]


class SerialDispatcher:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        # Messages read from a source and not yet handled, plus sends still under way.
        self.in_hand = 0

    @property
    def busy(self) -> bool:
        return self.in_hand > 0

    async def run(
        self, sources: Sequence[Source], dispatch: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Read every source and ``dispatch`` each message, one at a time, until a handler
        raises (``StopConsumer`` included): then stop reading and raise that."""

        async def pump(source: Source) -> None:
            while True:
                message = await source()
                self.in_hand += 1
                try:
                    async with self._lock:
                        await dispatch(message)
                finally:
                    self.in_hand -= 1

        tasks = [asyncio.ensure_future(pump(source)) for source in sources]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            # Cancelling the channel-layer reader is what unsubscribes the consumer's channel.
            await asyncio.gather(*tasks, return_exceptions=True)
