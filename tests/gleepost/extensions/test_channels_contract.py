"""What gleepost.extensions.channels (the websocket consumer's base) relies on in Channels beyond
its documented consumer API (docs/frameworks.md): each test fails naming the name or the copied
method, and our module."""

from __future__ import annotations

import channels.consumer
from channels.consumer import AsyncConsumer

from tests.gleepost.extensions.contracts import require, require_in_source, require_unchanged

CHANNELS = "channels"
AUDITED = "4.3.2"


def test_channels_async_consumer_call_is_the_one_copied() -> None:
    require_unchanged(
        AsyncConsumer.__call__,
        "3ece9d59f86a0968",
        copy="gleepost.extensions.channels.SerialConsumer.__call__",
        distribution=CHANNELS,
        audited=AUDITED,
    )


def test_channels_async_consumer_dispatch_is_the_one_copied() -> None:
    require_unchanged(
        AsyncConsumer.dispatch,
        "fb797181cb7cf340",
        copy="gleepost.extensions.channels.SerialConsumer.dispatch "
        "(without aclose_old_connections)",
        distribution=CHANNELS,
        audited=AUDITED,
    )


def test_channels_consumer_send_goes_through_base_send() -> None:
    # The copied __call__ sets base_send; the websocket consumer's send methods use it.
    require_in_source(
        AsyncConsumer.send,
        "self.base_send(message)",
        meaning="every send of a consumer goes through base_send, which __call__ sets",
        used_by="gleepost.extensions.channels.SerialConsumer.__call__ and send_without_waiting",
        distribution=CHANNELS,
    )


def test_channels_get_handler_name() -> None:
    require(
        channels.consumer,
        "get_handler_name",
        used_by="gleepost.extensions.channels.SerialConsumer.dispatch",
        distribution=CHANNELS,
    )
