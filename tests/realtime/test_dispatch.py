"""The consumer's message loop: one handler at a time, each source in order, stop on raise."""

from __future__ import annotations

import asyncio

import pytest
from channels.exceptions import StopConsumer

from realtime.dispatch import SerialDispatcher

pytestmark = pytest.mark.asyncio


async def test_handlers_never_overlap_and_each_source_keeps_its_order() -> None:
    client: asyncio.Queue[str] = asyncio.Queue()
    layer: asyncio.Queue[str] = asyncio.Queue()
    for n in range(5):
        client.put_nowait(f"c{n}")
        layer.put_nowait(f"l{n}")
    client.put_nowait("stop")
    handled: list[str] = []
    running = 0

    async def dispatch(message: str) -> None:
        nonlocal running
        running += 1
        assert running == 1
        await asyncio.sleep(0.001)  # a handler that awaits: the other source must still wait
        handled.append(message)
        running -= 1
        if message == "stop":
            raise StopConsumer

    with pytest.raises(StopConsumer):
        await asyncio.wait_for(SerialDispatcher().run([client.get, layer.get], dispatch), 5)
    assert [m for m in handled if m.startswith("c")] == [f"c{n}" for n in range(5)]
    # The layer's messages handled before the stop: the first ones, in order.
    from_layer = [m for m in handled if m.startswith("l")]
    assert from_layer == [f"l{n}" for n in range(len(from_layer))]


async def test_stopping_cancels_the_readers() -> None:
    cancelled = asyncio.Event()

    async def never() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "unreachable"

    async def once() -> str:
        return "stop"

    async def dispatch(message: str) -> None:
        raise StopConsumer

    with pytest.raises(StopConsumer):
        await SerialDispatcher().run([once, never], dispatch)
    assert cancelled.is_set()


async def test_busy_while_a_message_is_in_hand() -> None:
    dispatcher = SerialDispatcher()
    source: asyncio.Queue[str] = asyncio.Queue()
    release = asyncio.Event()
    seen_busy: list[bool] = []

    async def dispatch(message: str) -> None:
        seen_busy.append(dispatcher.busy)
        await release.wait()
        raise StopConsumer

    assert not dispatcher.busy
    running = asyncio.ensure_future(dispatcher.run([source.get], dispatch))
    source.put_nowait("one")
    await asyncio.sleep(0.01)
    assert dispatcher.busy
    release.set()
    with pytest.raises(StopConsumer):
        await running
    assert seen_busy == [True]
    assert not dispatcher.busy


async def test_a_raise_from_a_later_source_stops_reading_the_first_and_is_raised() -> None:
    first_cancelled = asyncio.Event()

    async def client() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            first_cancelled.set()
            raise
        return "unreachable"

    async def layer() -> str:
        return "boom"

    async def dispatch(message: str) -> None:
        raise RuntimeError(message)

    with pytest.raises(RuntimeError, match="boom"):
        await asyncio.wait_for(SerialDispatcher().run([client, layer], dispatch), 5)
    assert first_cancelled.is_set()


async def test_cancelling_the_consumer_cancels_every_reader() -> None:
    client: asyncio.Queue[str] = asyncio.Queue()
    layer: asyncio.Queue[str] = asyncio.Queue()
    tasks_before = len(asyncio.all_tasks())

    async def dispatch(message: str) -> None:
        pass

    running = asyncio.ensure_future(SerialDispatcher().run([client.get, layer.get], dispatch))
    await asyncio.sleep(0.01)
    assert len(asyncio.all_tasks()) == tasks_before + 2  # the consumer's and one reader
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert len(asyncio.all_tasks()) == tasks_before


async def test_a_send_that_completes_at_once_runs_without_a_task() -> None:
    dispatcher = SerialDispatcher()
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    dispatcher.send_without_waiting(send("a"))
    # Sent before anything else ran, and nothing left under way.
    assert sent == ["a"] and not dispatcher.busy


async def test_sends_that_wait_finish_in_order_and_keep_the_dispatcher_busy() -> None:
    dispatcher = SerialDispatcher()
    sent: list[str] = []
    gate = asyncio.Event()

    async def send(text: str, wait: bool) -> None:
        if wait:
            await gate.wait()
        sent.append(text)

    dispatcher.send_without_waiting(send("slow", wait=True))
    # Started while the slow one is under way: it must not overtake it.
    dispatcher.send_without_waiting(send("quick", wait=False))
    assert dispatcher.busy
    await asyncio.sleep(0.01)
    assert sent == [] and dispatcher.busy
    gate.set()
    for _ in range(20):
        if not dispatcher.busy:
            break
        await asyncio.sleep(0.01)
    assert sent == ["slow", "quick"] and not dispatcher.busy


async def test_a_failure_the_send_waited_on_reaches_the_send() -> None:
    dispatcher = SerialDispatcher()
    seen: list[str] = []
    failing: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def send() -> None:
        try:
            await failing
        except ConnectionError as error:
            seen.append(str(error))

    dispatcher.send_without_waiting(send())
    failing.set_exception(ConnectionError("peer gone"))
    for _ in range(20):
        if not dispatcher.busy:
            break
        await asyncio.sleep(0.01)
    assert seen == ["peer gone"] and not dispatcher.busy
