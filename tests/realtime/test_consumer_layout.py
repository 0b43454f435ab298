"""The websocket consumer stays split by concern (issue 14): ``realtime/consumers.py`` composes
the parts in ``realtime/consumer/``, each module small, and the parts add methods only, so a
connection holds no more than ``realtime.consumer.state`` declares.

Only the consumer's modules are held to the line limit: other modules of ``realtime`` are past it
(``realtime/publish.py``)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from realtime.consumer.state import ConnectionState
from realtime.consumers import EventConsumer

REALTIME = Path(__file__).resolve().parents[2] / "realtime"
CONSUMER_MODULES = [REALTIME / "consumers.py", *sorted((REALTIME / "consumer").glob("*.py"))]
MAX_LINES = 300


@pytest.mark.parametrize("path", CONSUMER_MODULES, ids=lambda path: path.name)
def test_no_consumer_module_is_over_300_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(REALTIME.parent)}: {lines} lines; split it"


def test_every_part_of_the_consumer_adds_methods_only() -> None:
    parts = [c for c in EventConsumer.__mro__ if c.__module__.startswith("realtime.consumer.")]
    assert {c.__name__ for c in parts} >= {
        "HandshakeMixin",
        "ClientFramesMixin",
        "DeliveryMixin",
        "CredentialsMixin",
        "ResumeMixin",
        "SubscriptionsMixin",
        "ConnectionState",
    }
    for part in parts:
        if part is ConnectionState:
            continue
        added = {
            name: value
            for name, value in vars(part).items()
            if name not in {"__module__", "__qualname__", "__doc__"}
        }
        assert "__init__" not in added, f"{part.__name__} sets up state of its own"
        for name, value in added.items():
            assert inspect.isfunction(value), f"{part.__name__}.{name} is not a method"


def test_every_transport_handles_every_message_the_groups_carry() -> None:
    """A message type a consumer has no handler for ends it (Channels raises): what the
    channel layer brings a websocket, an SSE stream and a long-poll must handle too."""
    from realtime.consumers import EventStreamConsumer, LongPollConsumer

    handled = {name for name in dir(EventConsumer) if name.startswith("realtime_")}
    assert "realtime_event" in handled
    for consumer in (EventStreamConsumer, LongPollConsumer):
        missing = {name for name in handled if not hasattr(consumer, name)}
        assert not missing, f"{consumer.__name__} has no handler for {sorted(missing)}"
