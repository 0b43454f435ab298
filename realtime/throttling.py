"""Per-connection limits on the client frames that cause fan-out: ``typing`` and ``presence``.

A sliding window log rather than a token bucket: it keeps the times of the last ``limit``
frames forwarded and forwards another only when the oldest of them is at least ``window_secs``
old, so "at most 3 per second" holds for *every* one-second window. A token bucket of the same
rate lets up to twice its capacity through in a window that straddles a refill. The log costs
``limit`` floats per connection.

Frames over the limit are dropped without an answer: typing and presence are ephemeral, the
next frame supersedes the last, and a client that floods would only get a flood of errors back.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimit:
    """Allows at most ``limit`` calls to ``allow`` returning True in any ``window_secs``."""

    def __init__(
        self, limit: int, window_secs: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_secs = window_secs
        self._clock = clock
        self._forwarded: deque[float] = deque(maxlen=limit)

    def allow(self) -> bool:
        """True (and counted) if one more frame fits in the window ending now."""
        now = self._clock()
        if len(self._forwarded) == self.limit and now - self._forwarded[0] < self.window_secs:
            return False
        self._forwarded.append(now)
        return True
