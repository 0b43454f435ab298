"""Record what a Django signal sends, for tests that check a domain fact was announced once.

A domain signal (one defined in a domain app's ``signals.py``) is recorded as its payloads: each
send must pass exactly one argument, an instance of exactly the dataclass named for the signal
(``message_sent`` carries a ``MessageSent``), or the send fails. Any other signal (Django's
``request_started``) is recorded as the keyword arguments of each send.
"""

from __future__ import annotations

import importlib
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import pytest
from django.dispatch import Signal

# The modules whose signals are domain facts, each with a payload dataclass beside it.
DOMAIN_SIGNAL_MODULES = (
    "accounts.signals",
    "conversations.signals",
    "notifications.signals",
    "posts.signals",
    "videos.signals",
)

SignalCalls = list[Any]
RecordSignal = Callable[[Signal], SignalCalls]


def payload_class_name(signal_name: str) -> str:
    """``message_sent`` -> ``MessageSent``: the dataclass a domain signal carries."""
    return "".join(word.capitalize() for word in signal_name.split("_"))


@cache
def domain_signals() -> dict[Signal, tuple[str, type | None]]:
    """Every domain signal, with its dotted name and its payload class (None if it has none)."""
    found: dict[Signal, tuple[str, type | None]] = {}
    for module_name in DOMAIN_SIGNAL_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if isinstance(value, Signal):
                payload = getattr(module, payload_class_name(name), None)
                found[value] = (f"{module_name}.{name}", payload)
    return found


def receivers_of(signal: Signal) -> list[Callable[..., Any]]:
    """The receivers connected to ``signal`` and still alive, in the order they run."""
    # Signal.receivers is undocumented: since Django 5.0, (lookup key, receiver or a weak
    # reference to it, is_async) per receiver. A change of shape fails the contract test.
    found = []
    for _, receiver, _ in signal.receivers:
        if isinstance(receiver, weakref.ReferenceType):
            receiver = receiver()
        if receiver is not None:
            found.append(receiver)
    return found


def _payload_of(signal: Signal, kwargs: dict[str, Any]) -> Any:
    name, payload_class = domain_signals()[signal]
    values = list(kwargs.values())
    assert payload_class is not None, f"{name} has no payload dataclass"
    assert len(values) == 1 and type(values[0]) is payload_class, (
        f"{name} must be sent with exactly one {payload_class.__name__}, not {kwargs!r}"
    )
    return values[0]


def _connect(signal: Signal, calls: SignalCalls) -> Callable[..., None]:
    domain = signal in domain_signals()

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal", None)
        calls.append(_payload_of(signal, kwargs) if domain else kwargs)

    signal.connect(receiver, weak=False)
    return receiver


@contextmanager
def recording(signal: Signal) -> Iterator[SignalCalls]:
    """Collect what every send of ``signal`` inside the block carried."""
    calls: SignalCalls = []
    receiver = _connect(signal, calls)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


@pytest.fixture
def record_signal() -> Iterator[RecordSignal]:
    """``record_signal(signal)`` collects what each send carried until the test ends."""
    connected: list[tuple[Signal, Callable[..., None]]] = []

    def record(signal: Signal) -> SignalCalls:
        calls: SignalCalls = []
        connected.append((signal, _connect(signal, calls)))
        return calls

    yield record
    for signal, receiver in connected:
        signal.disconnect(receiver)
