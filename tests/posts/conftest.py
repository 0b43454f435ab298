"""Fixtures of the posts tests: the "Campus" network of alice, bob and carol, a post in it, and a
recorder of domain signals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from django.dispatch import Signal

from posts.actions import do_add_network_members, do_create_network, do_create_post
from posts.models import Network, Post

if TYPE_CHECKING:
    from tests.conftest import Member

SignalCalls = list[dict[str, Any]]


@pytest.fixture
def campus(alice: Member, bob: Member, carol: Member) -> Network:
    """Created by alice; bob and carol are members, dave is not."""
    network = do_create_network(alice.user, "Campus")
    do_add_network_members(network, alice.user, [bob.id, carol.id])
    return network


@pytest.fixture
def post(campus: Network, alice: Member) -> Post:
    """alice's post in Campus."""
    return do_create_post(campus, alice.user, "Hello campus")


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
