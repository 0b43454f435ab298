"""A consumer's message loop without a task and an ``asyncio.wait`` per message.

Channels' ``await_many_dispatch`` waits on its sources with ``asyncio.wait`` and starts a new
task for each message; under the broadcast benchmark that bookkeeping was a fifth of daphne's
time (bench/results). Here each source has one long-lived reader task, and a lock keeps what
Channels promises: one handler at a time per consumer, each source's messages in order, and a
source read again only once its previous message was handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

Source = Callable[[], Awaitable[Any]]


async def dispatch_serially(
    sources: Sequence[Source], dispatch: Callable[[Any], Awaitable[None]]
) -> None:
    """Read every source and ``dispatch`` each message, one at a time, until a handler raises
    (``StopConsumer`` included): then stop reading and raise that."""
    lock = asyncio.Lock()

    async def pump(source: Source) -> None:
        while True:
            message = await source()
            async with lock:
                await dispatch(message)

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
