"""Record what a Django signal sends, for tests that check a domain fact was announced once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.dispatch import Signal


@contextmanager
def recording(signal: Signal) -> Iterator[list[dict[str, Any]]]:
    """Collect the keyword arguments of every send of ``signal`` inside the block."""
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal", None)
        sent.append(kwargs)

    signal.connect(receiver, weak=False)
    try:
        yield sent
    finally:
        signal.disconnect(receiver)
