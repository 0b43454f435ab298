"""Record what a Django signal sends, for tests that check a domain fact was announced once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.dispatch import Signal

SignalCalls = list[dict[str, Any]]
RecordSignal = Callable[[Signal], SignalCalls]


def _connect(signal: Signal, calls: SignalCalls, *, with_sender: bool) -> Callable[..., None]:
    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal", None)
        calls.append({"sender": sender, **kwargs} if with_sender else kwargs)

    signal.connect(receiver, weak=False)
    return receiver


@contextmanager
def recording(signal: Signal) -> Iterator[SignalCalls]:
    """Collect the keyword arguments of every send of ``signal`` inside the block."""
    calls: SignalCalls = []
    receiver = _connect(signal, calls, with_sender=False)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


@pytest.fixture
def record_signal() -> Iterator[RecordSignal]:
    """``record_signal(signal)`` collects each send's sender and arguments until the test ends."""
    connected: list[tuple[Signal, Callable[..., None]]] = []

    def record(signal: Signal) -> SignalCalls:
        calls: SignalCalls = []
        connected.append((signal, _connect(signal, calls, with_sender=True)))
        return calls

    yield record
    for signal, receiver in connected:
        signal.disconnect(receiver)
