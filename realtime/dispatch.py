"""A consumer's message loop without a task and an ``asyncio.wait`` per message.

Channels' ``await_many_dispatch`` waits on its sources with ``asyncio.wait`` and starts a new
task for each message; under the broadcast benchmark that bookkeeping was a fifth of daphne's
time (bench/results). Here the first source is read in the consumer's own task and each other
source by one long-lived reader task (for a websocket consumer: the client's frames in its task,
the channel layer in one more), and a lock keeps what Channels promises: one handler at a time
per consumer, each source's messages in order, and a source read again only once its previous
message was handled. A reader task per source, and ``asyncio.wait`` over them, cost ~1.9 KiB
per idle connection (bench/README.md, "Memory per connection").

``busy`` tells the channel layer's direct delivery (gleepost.extensions.channels_redis) whether
a message is being handled or waits to be, or a send is still under way: only when none is may
an event bypass the queue, so that events never overtake each other or a handler. ``in_hand``
counts all three and is changed here only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

logger = logging.getLogger(__name__)

Source = Callable[[], Awaitable[Any]]


class SerialDispatcher:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        # Messages read from a source and not yet handled, plus sends still under way.
        self.in_hand = 0
        # The last send that did not complete in its first step, while it is under way.
        self._unfinished_send: asyncio.Future[None] | None = None

    @property
    def busy(self) -> bool:
        return self.in_hand > 0

    async def run(
        self, sources: Sequence[Source], dispatch: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Read every source and ``dispatch`` each message, one at a time, until a handler
        raises (``StopConsumer`` included): then stop reading and raise that."""
        first, *others = sources
        this_task = asyncio.current_task()
        assert this_task is not None
        stopped_by_reader = False

        def stop_this_task(reader: asyncio.Future[None]) -> None:
            # A reader only ends by raising: stop reading the first source too.
            nonlocal stopped_by_reader
            if not reader.cancelled():
                stopped_by_reader = True
                this_task.cancel()

        readers = [asyncio.ensure_future(self._pump(source, dispatch)) for source in others]
        for reader in readers:
            reader.add_done_callback(stop_this_task)
        try:
            # Let each reader start before anything can cancel it: cancelled before its first
            # step, the channel layer's would never unsubscribe its channel.
            await asyncio.sleep(0)
            await self._pump(first, dispatch)
        except asyncio.CancelledError:
            # Cancelled by a reader that raised, and by nobody else: raise what it raised.
            if stopped_by_reader and this_task.cancelling() == 1:
                this_task.uncancel()
                for reader in readers:
                    if reader.done() and not reader.cancelled():
                        reader.result()
            raise
        finally:
            for reader in readers:
                reader.remove_done_callback(stop_this_task)
                reader.cancel()
            # Cancelling the channel-layer reader is what unsubscribes the consumer's channel.
            await asyncio.gather(*readers, return_exceptions=True)

    def dispatch_soon(
        self, message: Any, dispatch: Callable[[Any], Awaitable[None]]
    ) -> asyncio.Task[None]:
        """``dispatch`` a message of the consumer's own (a timer's), in turn with what its
        sources bring: one handler at a time still."""
        self.in_hand += 1
        return asyncio.ensure_future(self._dispatch_logged(message, dispatch))

    async def _dispatch_logged(
        self, message: Any, dispatch: Callable[[Any], Awaitable[None]]
    ) -> None:
        # Nobody awaits this task's result: a handler's failure is logged, not lost.
        try:
            await self._dispatch_counted(message, dispatch)
        except Exception:
            logger.exception("handling %s failed", message.get("type"))

    async def _dispatch_counted(
        self, message: Any, dispatch: Callable[[Any], Awaitable[None]]
    ) -> None:
        """Handle a message already counted in ``in_hand``, under the lock; uncount it after."""
        try:
            async with self._lock:
                await dispatch(message)
        finally:
            self.in_hand -= 1

    def send_without_waiting(self, sending: Coroutine[Any, Any, Any]) -> None:
        """Run a send coroutine with no task switch when it completes in its first step, as
        daphne's does. One that waits is finished on a task, and one started while such a send
        is under way waits behind it: sends complete in the order they were started, and the
        consumer stays ``busy`` until they have."""
        previous = self._unfinished_send
        if previous is not None and not previous.done():
            self.in_hand += 1
            self._unfinished_send = asyncio.ensure_future(self._send_after(previous, sending))
            return
        try:
            waiting = sending.send(None)
        except StopIteration:
            return
        self.in_hand += 1
        self._unfinished_send = asyncio.ensure_future(self._finish_send(sending, waiting))

    async def _finish_send(self, sending: Coroutine[Any, Any, Any], waiting: Any) -> None:
        """Drive a coroutine already stepped once to its end, as a task would have: wait until
        what it yielded is done, then resume it (it reads the outcome itself)."""
        try:
            while True:
                try:
                    if waiting is None:
                        await asyncio.sleep(0)
                    else:
                        # Not ``await waiting``: the future is still marked as awaited by the
                        # coroutine's own step, and asyncio refuses to await it twice.
                        await asyncio.wait([waiting])
                except asyncio.CancelledError:
                    sending.close()
                    raise
                try:
                    waiting = sending.send(None)
                except StopIteration:
                    return
        finally:
            self.in_hand -= 1

    async def _send_after(
        self, previous: asyncio.Future[None], sending: Coroutine[Any, Any, Any]
    ) -> None:
        try:
            await asyncio.wait([previous])
            await sending
        finally:
            self.in_hand -= 1

    async def _pump(self, source: Source, dispatch: Callable[[Any], Awaitable[None]]) -> None:
        while True:
            message = await source()
            self.in_hand += 1
            await self._dispatch_counted(message, dispatch)
