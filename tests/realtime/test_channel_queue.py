"""The pub/sub layer's channel queue: asyncio.Queue's order and wake-ups, and nothing held idle."""

from __future__ import annotations

import asyncio

import pytest

from realtime.channel_queue import ChannelQueue

pytestmark = pytest.mark.asyncio


async def test_messages_come_out_in_the_order_they_went_in() -> None:
    queue = ChannelQueue()
    for n in range(5):
        queue.put_nowait(n)
    assert queue.qsize() == 5
    assert [await queue.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert queue.empty()


async def test_a_waiting_reader_gets_the_next_message() -> None:
    queue = ChannelQueue()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not reader.done()
    queue.put_nowait("m")
    assert await asyncio.wait_for(reader, 1) == "m"


async def test_get_nowait_on_an_empty_queue_raises_queue_empty() -> None:
    queue = ChannelQueue()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_cancelled_reader_loses_no_message() -> None:
    queue = ChannelQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("m")  # wakes the first reader...
    first.cancel()  # ...which is cancelled before it runs: the second takes the message
    assert await asyncio.wait_for(second, 1) == "m"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_two_readers_each_get_one_message() -> None:
    queue = ChannelQueue()
    readers = [asyncio.ensure_future(queue.get()) for _ in range(2)]
    await asyncio.sleep(0)
    queue.put_nowait("a")
    queue.put_nowait("b")
    assert sorted(await asyncio.wait_for(asyncio.gather(*readers), 1)) == ["a", "b"]


async def test_an_idle_queue_holds_no_deque_and_no_waiter_list() -> None:
    queue = ChannelQueue()
    queue.put_nowait("m")
    await queue.get()
    reader = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    assert queue._items is None
    assert not queue._waiters
