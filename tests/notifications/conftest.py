"""Fixtures of the notifications tests: alice's post in "Campus" and a domain signal recorder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.dispatch import Signal

from posts.actions import do_add_network_members, do_create_network, do_create_post
from posts.models import Post

if TYPE_CHECKING:
    from tests.conftest import Member

SignalCalls = list[dict[str, Any]]


@pytest.fixture
def post(alice: Member, bob: Member, carol: Member) -> Post:
    """alice's post in Campus, a network of alice, bob and carol."""
    network = do_create_network(alice.user, "Campus")
    do_add_network_members(network, alice.user, [bob.id, carol.id])
    return do_create_post(network, alice.user, "Hello campus")


@pytest.fixture
def record_signal() -> Iterator[Callable[[Signal], SignalCalls]]:
    """Connect a receiver to a signal for the test; returns the list of its calls' arguments."""
    connected: list[tuple[Signal, Callable[..., None]]] = []

    def record(signal: Signal) -> SignalCalls:
        calls: SignalCalls = []

        def receiver(sender: Any, **kwargs: Any) -> None:
            kwargs.pop("signal")
            calls.append({"sender": sender, **kwargs})

        signal.connect(receiver, weak=False)
        connected.append((signal, receiver))
        return calls

    yield record
    for signal, receiver in connected:
        signal.disconnect(receiver)
